package dev.alexnetffm.engine.data;

import dev.alexnetffm.engine.io.AtomicFile;
import dev.alexnetffm.engine.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * An image folder prepared once, as the paper prepared ImageNet: every image resized so that its short side is
 * {@code size} (256), its centre {@code size x size} square cut out, and stored as a JPEG, in a new folder with the same
 * class sub-folders. Training on the copy gives the same images as training on the originals (to JPEG's rounding at the
 * chosen quality), and loading one is a 256x256 decode: several times cheaper than decoding a camera-sized JPEG and
 * resizing it, every epoch, which is what keeps a fast GPU waiting on its loader threads.
 *
 * <p>The resize and crop are {@link ImagePreprocessor}'s (its antialiased bilinear filter, the same rounding of the long
 * side and the same centre), so a network trained on the copy sees what one trained on the originals sees. An image whose
 * three planes are equal (a grey photograph) becomes a grey JPEG.
 *
 * <h2>Files</h2>
 * {@code a.jpg} and {@code a.jpeg} keep their names; any other image gets {@code .jpg} appended ({@code a.png} becomes
 * {@code a.png.jpg}), so two sources never share a target. Each file is written whole (a temporary file, then a
 * rename), so an interrupted run leaves only complete images (and, if it was killed, temporary files that the next run
 * deletes). The output folder holds {@value #MANIFEST}: the source, the size and quality, and, once every image is
 * done, {@code "complete": true} with the images skipped as corrupt. Running again with the same settings continues:
 * an image whose target is newer than it is left alone, a changed or new one is prepared. A folder prepared with other
 * settings or from another source, or a non-empty folder without the manifest, is refused rather than mixed.
 */
public final class FolderPreparer {
    /** The file in the output folder that records how it was prepared. */
    public static final String MANIFEST = "prepared.json";

    /** How images are prepared: square side, JPEG quality, worker threads, and whether a corrupt image stops the run. */
    public record Settings(int size, int quality, int threads, boolean skipCorrupt) {
        /** The paper's 256x256 at quality 90, one thread per core, stopping at the first unreadable image. */
        public static Settings paper() {
            return new Settings(256, 90, Runtime.getRuntime().availableProcessors(), false);
        }

        public Settings {
            if (size < 1 || size > 8192) throw new IllegalArgumentException("size must be 1-8192 pixels, got " + size);
            if (quality < 1 || quality > 100) throw new IllegalArgumentException("JPEG quality must be 1-100, got " + quality);
            if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }

        public Settings withSize(int size) {
            return new Settings(size, quality, threads, skipCorrupt);
        }

        public Settings withQuality(int quality) {
            return new Settings(size, quality, threads, skipCorrupt);
        }

        public Settings withThreads(int threads) {
            return new Settings(size, quality, threads, skipCorrupt);
        }

        public Settings withSkipCorrupt(boolean skipCorrupt) {
            return new Settings(size, quality, threads, skipCorrupt);
        }
    }

    /**
     * What a run did: the images in the source, those written now, those whose target was already up to date, those
     * skipped as unreadable (with their errors, in path order), the bytes of the images read and written now.
     */
    public record Report(int images, int written, int upToDate, List<ImageLoadException> skipped, long bytesRead,
                         long bytesWritten, double seconds) {
        /** Images prepared per second in this run (written ones only). */
        public double imagesPerSecond() {
            return written / Math.max(seconds, 1e-9);
        }
    }

    /** Told, on the calling thread, how many of the images are done (written, up to date or skipped). */
    @FunctionalInterface
    public interface Listener {
        void progress(int done, int total);
    }

    private record Job(Path source, Path target) {}

    private record Done(long bytesRead, long bytesWritten) {}

    private FolderPreparer() {}

    /**
     * Prepares every image of {@code source} (one sub-folder per class, as {@link ImageFolder} reads) into {@code out}
     * (created if needed). An unreadable image stops the run with its {@link ImageLoadException} once the images being
     * worked on are written (those done stay done, and a second run continues), unless {@link Settings#skipCorrupt}
     * says to count it and go on.
     */
    public static Report prepare(Path source, Path out, Settings settings, Listener listener) throws IOException {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(listener, "listener");
        long start = System.nanoTime();
        Path from = source.toAbsolutePath().normalize(), to = out.toAbsolutePath().normalize();
        List<Path> classes = ImageFolder.classFolders(from);
        if (to.startsWith(from) || from.startsWith(to)) {
            throw new IOException("the output folder " + out + (to.startsWith(from) ? " lies inside" : " holds") + " the source folder "
                    + source + "; choose one outside it");
        }
        checkOutput(from, to, settings);
        AtomicFile.deleteLeftovers(to, true);
        List<Job> jobs = jobs(from, to, classes);
        writeManifest(to, from, settings, jobs.size(), false, List.of());

        List<Job> todo = new ArrayList<>();
        for (Job job : jobs) if (!upToDate(job)) todo.add(job);
        int total = jobs.size(), done = total - todo.size();
        listener.progress(done, total);
        ImagePreprocessor square = ImagePreprocessor.builder().shortSide(settings.size()).cropSize(settings.size()).mean(0, 0, 0).build();
        boolean turboJpeg = TurboJpeg.enabled();
        List<ImageLoadException> skipped = new ArrayList<>();
        IOException failure = null;
        long bytesRead = 0, bytesWritten = 0;
        int written = 0;
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(settings.threads(), Math.max(1, todo.size())), r -> {
            Thread t = new Thread(r, "prepare");
            t.setDaemon(true);
            return t;
        });
        try {
            // A few images per thread in flight at a time: a million-image folder queues no million tasks, and after a
            // failure nothing new begins while those under way are finished and written.
            CompletionService<Done> results = new ExecutorCompletionService<>(pool);
            Map<Future<Done>, Job> running = new HashMap<>();
            Consumer<Job> submit = job -> running.put(results.submit(() -> prepareOne(job, square, settings.quality(), turboJpeg)), job);
            int next = 0, window = 4 * settings.threads();
            while (next < todo.size() && running.size() < window) submit.accept(todo.get(next++));
            while (!running.isEmpty()) {
                Future<Done> f;
                try {
                    f = results.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while preparing " + source, e);
                }
                Job job = running.remove(f);
                try {
                    Done d = f.get();
                    written++;
                    bytesRead += d.bytesRead();
                    bytesWritten += d.bytesWritten();
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof ImageLoadException bad && settings.skipCorrupt()) {
                        skipped.add(bad);
                    } else if (failure == null) {
                        failure = cause instanceof IOException io ? io : new IOException("preparing " + job.source() + " failed: " + cause, cause);
                        for (Future<Done> queued : running.keySet()) queued.cancel(false);  // those begun are finished
                    }
                } catch (CancellationException e) {
                    continue;  // queued when an earlier image failed, never begun
                } catch (InterruptedException e) {
                    throw new AssertionError("a completed task's result cannot wait", e);
                }
                listener.progress(++done, total);
                if (failure == null && next < todo.size()) submit.accept(todo.get(next++));
            }
        } finally {
            pool.shutdown();
            try {
                if (!pool.awaitTermination(1, TimeUnit.MINUTES)) pool.shutdownNow();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (failure != null) throw failure;
        skipped.sort(Comparator.comparing(ImageLoadException::source));
        writeManifest(to, from, settings, total, true, skipped);
        return new Report(total, written, total - todo.size(), List.copyOf(skipped), bytesRead, bytesWritten,
                (System.nanoTime() - start) / 1e9);
    }

    /** The name a source image gets in the prepared folder: its own for .jpg/.jpeg, else with .jpg appended. */
    static String targetName(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        return lower.endsWith(".jpg") || lower.endsWith(".jpeg") ? fileName : fileName + ".jpg";
    }

    /** Every image of every class, with its target; two sources with one target are an error naming both. */
    private static List<Job> jobs(Path from, Path to, List<Path> classes) throws IOException {
        List<Job> jobs = new ArrayList<>();
        Map<Path, Path> sourceOf = new HashMap<>();
        for (Path classDir : classes) {
            for (Path image : ImageFolder.imagesIn(classDir)) {
                Path relative = from.relativize(image);
                Path target = to.resolve(relative).resolveSibling(targetName(image.getFileName().toString()));
                Path other = sourceOf.putIfAbsent(target, image);
                if (other != null) {
                    throw new IOException(other + " and " + image + " would both be prepared as " + target + "; rename one of them");
                }
                jobs.add(new Job(image, target));
            }
        }
        if (jobs.isEmpty()) throw new IOException(from + " holds no .jpg, .jpeg or .png files in its class sub-folders");
        return jobs;
    }

    private static boolean upToDate(Job job) throws IOException {
        return Files.isRegularFile(job.target())
                && Files.getLastModifiedTime(job.target()).compareTo(Files.getLastModifiedTime(job.source())) >= 0;
    }

    private static Done prepareOne(Job job, ImagePreprocessor square, int quality, boolean turboJpeg) throws IOException {
        long read = Files.size(job.source());
        float[] planes = square.load(job.source());
        int size = square.cropSize();
        byte[] jpeg = JpegWriter.encode(planes, size, size, quality, turboJpeg);
        AtomicFile.write(job.target(), jpeg);
        return new Done(read, jpeg.length);
    }

    /**
     * Refuses an output that is not a folder, a non-empty folder without a manifest, and one whose manifest names other
     * settings or another source.
     */
    private static void checkOutput(Path from, Path to, Settings settings) throws IOException {
        if (!Files.exists(to)) return;
        if (!Files.isDirectory(to)) throw new NotDirectoryException(to + " (the output must be a folder)");
        Path manifest = to.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            try (Stream<Path> entries = Files.list(to)) {
                if (entries.findAny().isPresent()) {
                    throw new IOException(to + " is not empty and was not made by this command (it has no " + MANIFEST
                            + "); choose a new or empty folder");
                }
            }
            return;
        }
        Map<String, Object> m = Json.object(Files.readString(manifest), manifest.toString());
        Object size = m.get("size"), quality = m.get("quality"), src = m.get("source");
        if (!(size instanceof Long) || !(quality instanceof Long) || !(src instanceof String)) {
            throw new IOException(manifest + " lacks its size, quality or source; remove the folder, or choose another");
        }
        if ((Long) size != settings.size() || (Long) quality != settings.quality()) {
            throw new IOException(to + " was prepared at " + size + "x" + size + ", quality " + quality + ", not at "
                    + settings.size() + "x" + settings.size() + ", quality " + settings.quality()
                    + "; give those settings to continue it, or choose another folder");
        }
        if (!Path.of((String) src).equals(from)) {
            throw new IOException(to + " was prepared from " + src + ", not from " + from + "; choose another folder");
        }
    }

    private static void writeManifest(Path to, Path from, Settings settings, int images, boolean complete,
                                      List<ImageLoadException> skipped) throws IOException {
        StringBuilder json = new StringBuilder();
        json.append("{\n  \"source\": ").append(Json.quote(from.toString()))
                .append(",\n  \"size\": ").append(settings.size())
                .append(",\n  \"quality\": ").append(settings.quality())
                .append(",\n  \"images\": ").append(images)
                .append(",\n  \"complete\": ").append(complete)
                .append(",\n  \"skipped\": [");
        for (int i = 0; i < skipped.size(); i++) {
            json.append(i == 0 ? "\n    " : ",\n    ").append(Json.quote(skipped.get(i).getMessage()));
        }
        json.append(skipped.isEmpty() ? "]\n}\n" : "\n  ]\n}\n");
        AtomicFile.writeString(to.resolve(MANIFEST), json);
    }
}
