package dev.alexnetffm.engine.data.augment;

/**
 * Eigen-decomposition of a real symmetric 3x3 matrix by the cyclic Jacobi method: plane rotations zero the
 * off-diagonal entries one by one until they are negligible next to the diagonal (quadratic convergence; a
 * handful of sweeps reach double precision).
 *
 * <p>Results: eigenvalues sorted descending; eigenvectors of unit length, {@code vectors[k]} belonging to
 * {@code values[k]}. Sign convention: each eigenvector's component of largest magnitude is positive (on a tie,
 * the first such component), so the result does not depend on rotation order and is reproducible.
 */
public final class SymmetricEigen3 {
    /** @param values  eigenvalues, descending
     *  @param vectors {@code vectors[k]} is the unit eigenvector of {@code values[k]} */
    public record Result(double[] values, double[][] vectors) {}

    private static final int MAX_SWEEPS = 64;

    private SymmetricEigen3() {}

    public static Result decompose(double[][] m) {
        if (m.length != 3 || m[0].length != 3 || m[1].length != 3 || m[2].length != 3) {
            throw new IllegalArgumentException("need a 3x3 matrix");
        }
        double[][] a = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                if (!Double.isFinite(m[i][j])) throw new IllegalArgumentException("matrix entry [" + i + "][" + j + "] is " + m[i][j]);
                double d = Math.abs(m[i][j] - m[j][i]);
                if (d > 1e-9 * Math.max(1.0, Math.max(Math.abs(m[i][j]), Math.abs(m[j][i])))) {
                    throw new IllegalArgumentException("matrix is not symmetric at [" + i + "][" + j + "]: " + m[i][j] + " vs " + m[j][i]);
                }
                a[i][j] = 0.5 * (m[i][j] + m[j][i]);
            }
        }
        double[][] v = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};   // columns are eigenvectors
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
            double diag = a[0][0] * a[0][0] + a[1][1] * a[1][1] + a[2][2] * a[2][2];
            if (off == 0.0 || off <= 1e-36 * diag) break;
            for (int p = 0; p < 2; p++) {
                for (int q = p + 1; q < 3; q++) rotate(a, v, p, q);
            }
        }
        Integer[] order = {0, 1, 2};
        double[] diagonal = {a[0][0], a[1][1], a[2][2]};
        java.util.Arrays.sort(order, (x, y) -> Double.compare(diagonal[y], diagonal[x]));
        double[] values = new double[3];
        double[][] vectors = new double[3][3];
        for (int k = 0; k < 3; k++) {
            int col = order[k];
            values[k] = diagonal[col];
            double norm = 0;
            for (int i = 0; i < 3; i++) norm += v[i][col] * v[i][col];
            norm = Math.sqrt(norm);
            int big = 0;
            for (int i = 1; i < 3; i++) if (Math.abs(v[i][col]) > Math.abs(v[big][col])) big = i;
            double sign = v[big][col] < 0 ? -1.0 : 1.0;
            for (int i = 0; i < 3; i++) vectors[k][i] = sign * v[i][col] / norm;
        }
        return new Result(values, vectors);
    }

    /** One Jacobi rotation in the (p, q) plane that zeroes a[p][q] (Numerical Recipes' stable form). */
    private static void rotate(double[][] a, double[][] v, int p, int q) {
        double apq = a[p][q];
        if (apq == 0.0) return;
        double theta = (a[q][q] - a[p][p]) / (2.0 * apq);
        double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1.0));
        if (theta == 0.0) t = 1.0;
        double c = 1.0 / Math.sqrt(t * t + 1.0);
        double s = t * c;
        // A' = Jᵀ A J with J the rotation in (p, q)
        for (int k = 0; k < 3; k++) {
            double akp = a[k][p], akq = a[k][q];
            a[k][p] = c * akp - s * akq;
            a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; k++) {
            double apk = a[p][k], aqk = a[q][k];
            a[p][k] = c * apk - s * aqk;
            a[q][k] = s * apk + c * aqk;
        }
        a[p][q] = 0.0;
        a[q][p] = 0.0;
        for (int k = 0; k < 3; k++) {
            double vkp = v[k][p], vkq = v[k][q];
            v[k][p] = c * vkp - s * vkq;
            v[k][q] = s * vkp + c * vkq;
        }
    }
}
