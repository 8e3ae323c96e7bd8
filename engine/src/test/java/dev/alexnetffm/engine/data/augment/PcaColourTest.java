package dev.alexnetffm.engine.data.augment;

import dev.alexnetffm.engine.data.Dataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class PcaColourTest {
    /** A known covariance (0..255-unit scale) and its Cholesky factor. */
    static final double[][] COV = {{3000, 2600, 2200}, {2600, 2900, 2500}, {2200, 2500, 3100}};

    static double[][] cholesky(double[][] a) {
        double[][] l = new double[3][3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j <= i; j++) {
                double s = a[i][j];
                for (int k = 0; k < j; k++) s -= l[i][k] * l[j][k];
                l[i][j] = i == j ? Math.sqrt(s) : s / l[j][j];
            }
        return l;
    }

    /** {@code count} CHW images of {@code side²} pixels drawn from N(mean, COV). */
    static List<float[]> syntheticImages(int count, int side, long seed) {
        double[][] l = cholesky(COV);
        double[] mean = {10, -5, 3};
        Random r = new Random(seed);
        int plane = side * side;
        List<float[]> out = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            float[] img = new float[3 * plane];
            for (int i = 0; i < plane; i++) {
                double z0 = r.nextGaussian(), z1 = r.nextGaussian(), z2 = r.nextGaussian();
                for (int c = 0; c < 3; c++) img[c * plane + i] = (float) (mean[c] + l[c][0] * z0 + l[c][1] * z1 + l[c][2] * z2);
            }
            out.add(img);
        }
        return out;
    }

    static Dataset listDataset(List<float[]> images, int side) {
        return new Dataset() {
            public String name() { return "synthetic"; }
            public int size() { return images.size(); }
            public int classes() { return 1; }
            public int channels() { return 3; }
            public int imageSize() { return side; }
            public int label(int index) { return 0; }
            public void image(int index, float[] out, int offset) {
                System.arraycopy(images.get(index), 0, out, offset, images.get(index).length);
            }
        };
    }

    @Test
    void covarianceOfSyntheticPixelsRecoversTheKnownOne() {
        List<float[]> images = syntheticImages(40, 64, 5);   // 163840 pixels
        PcaColour.Accumulator acc = new PcaColour.Accumulator();
        for (float[] img : images) acc.add(img, 0, 64 * 64);
        double[][] c = acc.covariance();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) assertEquals(COV[i][j], c[i][j], 0.02 * 3000, "cov[" + i + "][" + j + "]");
        assertArrayEquals(new double[] {10, -5, 3}, acc.mean(), 1.0);
        assertEquals(40 * 64 * 64, acc.pixels());

        PcaColour pca = PcaColour.fit(images, 64 * 64);
        SymmetricEigen3.Result exact = SymmetricEigen3.decompose(COV);
        for (int k = 0; k < 3; k++) {
            assertEquals(exact.values()[k], pca.eigenvalues()[k], 0.03 * exact.values()[0], "λ" + k);
        }
        double dot = 0;
        for (int i = 0; i < 3; i++) dot += exact.vectors()[0][i] * pca.eigenvectors()[0][i];
        assertEquals(1.0, dot, 1e-3, "p1 matches, same sign convention");
    }

    @Test
    void mergedAccumulatorEqualsOnePassOverAllPixels() {
        // Two images merged vs. one image holding all their pixels.
        List<float[]> images = syntheticImages(2, 16, 9);
        int plane = 256;
        float[] both = new float[3 * 2 * plane];
        for (int c = 0; c < 3; c++) {
            System.arraycopy(images.get(0), c * plane, both, c * 2 * plane, plane);
            System.arraycopy(images.get(1), c * plane, both, c * 2 * plane + plane, plane);
        }
        PcaColour.Accumulator a = new PcaColour.Accumulator(), b = new PcaColour.Accumulator();
        a.add(images.get(0), 0, plane);
        a.add(images.get(1), 0, plane);
        b.add(both, 0, 2 * plane);
        for (int i = 0; i < 3; i++) assertArrayEquals(b.covariance()[i], a.covariance()[i], 1e-9 * 3000);
    }

    @Test
    void covarianceIgnoresAMeanShift() {
        List<float[]> images = syntheticImages(3, 32, 2);
        List<float[]> shifted = new ArrayList<>();
        for (float[] img : images) {
            float[] s = img.clone();
            for (int i = 0; i < s.length; i++) s[i] -= 120f;
            shifted.add(s);
        }
        PcaColour a = PcaColour.fit(images, 1024), b = PcaColour.fit(shifted, 1024);
        assertArrayEquals(a.eigenvalues(), b.eigenvalues(), 1e-3);
    }

    @Test
    void fitOverADatasetWithALimitSamplesEvenly() throws IOException {
        List<float[]> images = syntheticImages(10, 8, 4);
        // images 0, 2, 4, 6, 8 for a limit of 5
        PcaColour limited = PcaColour.fit(listDataset(images, 8), 5);
        assertEquals(5, limited.images());
        assertEquals(5 * 64, limited.pixels());
        PcaColour.Accumulator acc = new PcaColour.Accumulator();
        for (int k = 0; k < 10; k += 2) acc.add(images.get(k), 0, 64);
        assertArrayEquals(acc.result().eigenvalues(), limited.eigenvalues(), 0);
        assertEquals(10, PcaColour.fit(listDataset(images, 8), 0).images());
        assertEquals(10, PcaColour.fit(listDataset(images, 8), 99).images());
    }

    @Test
    void addsTheSameVectorToEveryPixel() {
        PcaColour pca = PcaColour.fit(syntheticImages(4, 16, 1), 256);
        int plane = 227 * 227;
        Random r = new Random(8);
        float[] img = new float[7 + 3 * plane];
        for (int i = 0; i < img.length; i++) img[i] = (float) (r.nextGaussian() * 60);
        float[] before = img.clone();
        pca.apply(img, 7, plane, 99, 2, 31);
        float[] delta = pca.offset(99, 2, 31);
        assertNotEquals(0f, delta[0]);
        for (int i = 0; i < 7; i++) assertEquals(before[i], img[i]);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++) assertEquals(before[7 + c * plane + i] + delta[c], img[7 + c * plane + i], "c" + c + " i" + i);
        // deterministic for (seed, epoch, item); different across epochs
        assertArrayEquals(delta, pca.offset(99, 2, 31));
        assertFalse(java.util.Arrays.equals(delta, pca.offset(99, 3, 31)));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(PcaColour.Magnitude.class)
    void offsetStatisticsMatchTheEigenDecomposition(PcaColour.Magnitude magnitude) {
        // offset = P (α ∘ s), s = √λ or λ: its covariance is Σ pk pkᵀ (0.1 sk)², and the α are N(0, 0.01), independent.
        PcaColour pca = PcaColour.fromCovariance(COV, new double[3], 1000, 1).withMagnitude(magnitude);
        assertEquals(PcaColour.Magnitude.STDDEV, PcaColour.fromCovariance(COV, new double[3], 1000, 1).magnitude(), "default");
        double[] l = new double[3];
        for (int k = 0; k < 3; k++) l[k] = magnitude == PcaColour.Magnitude.STDDEV ? Math.sqrt(pca.eigenvalues()[k]) : pca.eigenvalues()[k];
        double[][] p = pca.eigenvectors();
        int n = 40000;
        double[][] cov = new double[3][3];
        double[] mean = new double[3];
        double[] alphaSq = new double[3];
        for (int i = 0; i < n; i++) {
            double[] a = pca.alphas(5, 0, i);
            for (int k = 0; k < 3; k++) alphaSq[k] += a[k] * a[k];
            float[] d = pca.offset(5, 0, i);
            float[] d2 = pca.offset(a);
            assertArrayEquals(d2, d);
            for (int x = 0; x < 3; x++) {
                mean[x] += d[x];
                for (int y = 0; y < 3; y++) cov[x][y] += (double) d[x] * d[y];
            }
        }
        for (int k = 0; k < 3; k++) assertEquals(0.01, alphaSq[k] / n, 0.01 * 0.04, "var α" + k);
        double scale = Math.pow(0.1 * l[0], 2);
        for (int x = 0; x < 3; x++) {
            assertEquals(0.0, mean[x] / n, 0.03 * 0.1 * l[0]);
            for (int y = 0; y < 3; y++) {
                double expect = 0;
                for (int k = 0; k < 3; k++) expect += p[k][x] * p[k][y] * Math.pow(0.1 * l[k], 2);
                assertEquals(expect, cov[x][y] / n, 0.04 * scale, "cov[" + x + "][" + y + "]");
            }
        }
    }

    @Test
    void saveLoadRoundTrip(@TempDir Path dir) throws IOException {
        PcaColour pca = PcaColour.fit(syntheticImages(3, 16, 6), 256);
        Path file = dir.resolve("sub/pca.properties");
        pca.save(file);
        pca.save(file);   // overwrite
        PcaColour back = PcaColour.load(file);
        assertArrayEquals(pca.eigenvalues(), back.eigenvalues(), 0);
        for (int k = 0; k < 3; k++) assertArrayEquals(pca.eigenvectors()[k], back.eigenvectors()[k], 0);
        assertArrayEquals(pca.mean(), back.mean(), 0);
        assertEquals(pca.pixels(), back.pixels());
        assertEquals(pca.images(), back.images());
        assertEquals(0.1, back.alphaStd());
        assertArrayEquals(pca.offset(1, 2, 3), back.offset(1, 2, 3));
        try (var s = Files.list(file.getParent())) {
            assertEquals(1, s.count(), "no temporary file left behind");
        }
        assertEquals(PcaColour.Magnitude.STDDEV, back.magnitude());
        PcaColour other = PcaColour.load(save(dir, pca.withAlphaStd(0.25).withMagnitude(PcaColour.Magnitude.EIGENVALUE)));
        assertEquals(0.25, other.alphaStd());
        assertEquals(PcaColour.Magnitude.EIGENVALUE, other.magnitude());
    }

    private static Path save(Path dir, PcaColour p) throws IOException {
        Path f = dir.resolve("other.properties");
        p.save(f);
        return f;
    }

    @Test
    void malformedFileNamesItself(@TempDir Path dir) throws IOException {
        PcaColour pca = PcaColour.fit(syntheticImages(2, 8, 6), 64);
        Path good = dir.resolve("good.properties");
        pca.save(good);
        String text = Files.readString(good);

        Path missing = dir.resolve("missing.properties");
        Files.writeString(missing, text.replaceAll("(?m)^eigenvalue\\.1=.*$", ""));
        IOException e = assertThrows(IOException.class, () -> PcaColour.load(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("eigenvalue.1"), e.getMessage());

        Path garbage = dir.resolve("garbage.properties");
        Files.writeString(garbage, text.replaceAll("(?m)^eigenvector\\.0=.*$", "eigenvector.0=1,banana,0"));
        e = assertThrows(IOException.class, () -> PcaColour.load(garbage));
        assertTrue(e.getMessage().contains(garbage.toString()) && e.getMessage().contains("banana"), e.getMessage());

        Path notUnit = dir.resolve("notunit.properties");
        Files.writeString(notUnit, text.replaceAll("(?m)^eigenvector\\.2=.*$", "eigenvector.2=1,1,0"));
        e = assertThrows(IOException.class, () -> PcaColour.load(notUnit));
        assertTrue(e.getMessage().contains("length"), e.getMessage());

        Path other = dir.resolve("other.json");
        Files.writeString(other, "{\"not\": \"ours\"}");
        e = assertThrows(IOException.class, () -> PcaColour.load(other));
        assertTrue(e.getMessage().contains(other.toString()) && e.getMessage().contains("format"), e.getMessage());
    }
}
