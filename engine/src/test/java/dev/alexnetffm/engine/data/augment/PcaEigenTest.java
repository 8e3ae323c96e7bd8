package dev.alexnetffm.engine.data.augment;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Tests of {@link SymmetricEigen3}, the eigen-solver behind {@link PcaColour}. */
class PcaEigenTest {
    static void checkDecomposition(double[][] a, SymmetricEigen3.Result r) {
        double scale = 1;
        for (double[] row : a) for (double v : row) scale = Math.max(scale, Math.abs(v));
        for (int k = 0; k < 3; k++) {
            double[] p = r.vectors()[k];
            assertEquals(1.0, Math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]), 1e-12);
            for (int i = 0; i < 3; i++) {
                double ap = a[i][0] * p[0] + a[i][1] * p[1] + a[i][2] * p[2];
                assertEquals(r.values()[k] * p[i], ap, 1e-9 * scale, "A·p = λ·p, k=" + k + " i=" + i);
            }
            if (k > 0) assertTrue(r.values()[k] <= r.values()[k - 1]);
            // sign: largest-magnitude component positive
            int big = 0;
            for (int i = 1; i < 3; i++) if (Math.abs(p[i]) > Math.abs(p[big])) big = i;
            assertTrue(p[big] > 0);
        }
        // orthogonal
        for (int k = 0; k < 3; k++) for (int l = k + 1; l < 3; l++) {
            double d = 0;
            for (int i = 0; i < 3; i++) d += r.vectors()[k][i] * r.vectors()[l][i];
            assertEquals(0.0, d, 1e-10);
        }
    }

    @Test
    void diagonal() {
        double[][] a = {{2, 0, 0}, {0, 5, 0}, {0, 0, -1}};
        SymmetricEigen3.Result r = SymmetricEigen3.decompose(a);
        assertArrayEquals(new double[] {5, 2, -1}, r.values(), 0);
        assertArrayEquals(new double[] {0, 1, 0}, r.vectors()[0], 0);
        assertArrayEquals(new double[] {1, 0, 0}, r.vectors()[1], 0);
        assertArrayEquals(new double[] {0, 0, 1}, r.vectors()[2], 0);
        checkDecomposition(a, r);
    }

    @Test
    void rotatedDiagonal() {
        Random rnd = new Random(3);
        for (int trial = 0; trial < 50; trial++) {
            double[][] q = randomRotation(rnd);
            double[] l = {rnd.nextDouble() * 1000, rnd.nextDouble() * 10, rnd.nextDouble() * 0.1};
            double[][] a = new double[3][3];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++) a[i][j] += q[k][i] * l[k] * q[k][j];   // Σ λk qk qkᵀ
            SymmetricEigen3.Result r = SymmetricEigen3.decompose(a);
            for (int k = 0; k < 3; k++) {
                assertEquals(l[k], r.values()[k], 1e-10 * 1000);
                double dot = 0;
                for (int i = 0; i < 3; i++) dot += q[k][i] * r.vectors()[k][i];
                assertEquals(1.0, Math.abs(dot), 1e-8, "eigenvector " + k + " matches up to sign");
            }
            checkDecomposition(a, r);
        }
    }

    @Test
    void rankOne() {
        double[] u = {1, -2, 3};   // |u|² = 14
        double[][] a = new double[3][3];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) a[i][j] = u[i] * u[j];
        SymmetricEigen3.Result r = SymmetricEigen3.decompose(a);
        assertEquals(14.0, r.values()[0], 1e-12);
        assertEquals(0.0, r.values()[1], 1e-12);
        assertEquals(0.0, r.values()[2], 1e-12);
        // the largest-magnitude component (index 2) is made positive: p1 = +u/|u|
        double n = Math.sqrt(14);
        assertArrayEquals(new double[] {1 / n, -2 / n, 3 / n}, r.vectors()[0], 1e-12);
        checkDecomposition(a, r);
    }

    @Test
    void repeatedEigenvalues() {
        double[][] a = {{3, 0, 0}, {0, 3, 0}, {0, 0, 3}};
        checkDecomposition(a, SymmetricEigen3.decompose(a));
        double[][] b = {{2, 1, 1}, {1, 2, 1}, {1, 1, 2}};   // eigenvalues 4, 1, 1
        SymmetricEigen3.Result r = SymmetricEigen3.decompose(b);
        assertArrayEquals(new double[] {4, 1, 1}, r.values(), 1e-12);
        checkDecomposition(b, r);
    }

    @Test
    void rejectsAsymmetricAndNonFinite() {
        assertThrows(IllegalArgumentException.class, () -> SymmetricEigen3.decompose(new double[][] {{1, 2, 0}, {0, 1, 0}, {0, 0, 1}}));
        assertThrows(IllegalArgumentException.class, () -> SymmetricEigen3.decompose(new double[][] {{Double.NaN, 0, 0}, {0, 1, 0}, {0, 0, 1}}));
    }

    static double[][] randomRotation(Random rnd) {
        // Gram–Schmidt on random rows
        double[][] q = new double[3][3];
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 3; i++) q[k][i] = rnd.nextGaussian();
            for (int l = 0; l < k; l++) {
                double d = 0;
                for (int i = 0; i < 3; i++) d += q[k][i] * q[l][i];
                for (int i = 0; i < 3; i++) q[k][i] -= d * q[l][i];
            }
            double n = Math.sqrt(q[k][0] * q[k][0] + q[k][1] * q[k][1] + q[k][2] * q[k][2]);
            for (int i = 0; i < 3; i++) q[k][i] /= n;
        }
        return q;
    }
}
