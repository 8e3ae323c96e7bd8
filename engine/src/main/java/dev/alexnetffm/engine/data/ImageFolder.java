package dev.alexnetffm.engine.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * An ImageNet-style folder: one sub-folder per class (sorted by name: the first is class 0), holding JPEG or PNG
 * images. Each image is prepared as for inference (short side to 256, centre 227x227 crop, mean subtracted) by
 * an {@link ImagePreprocessor}. A file that cannot be decoded fails with an {@link ImageLoadException} naming it.
 */
public final class ImageFolder implements Dataset {
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png");

    private final String name;
    private final List<String> classNames;
    private final List<Path> files;
    private final int[] labels;
    private final ImagePreprocessor preprocessor;
    private final InputEncoding encoding;

    private ImageFolder(String name, List<String> classNames, List<Path> files, int[] labels, ImagePreprocessor preprocessor,
                        InputEncoding encoding) {
        this.name = name;
        this.classNames = classNames;
        this.files = files;
        this.labels = labels;
        this.preprocessor = preprocessor;
        this.encoding = encoding;
    }

    /** The .jpg, .jpeg and .png files in {@code dir} and its sub-folders, sorted by path. */
    public static List<Path> imagesIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> EXTENSIONS.stream().anyMatch(e -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(e)))
                    .sorted().toList();
        }
    }

    /** The class sub-folders of {@code root}, sorted by name (the first is class 0); none is an error saying so. */
    static List<Path> classFolders(Path root) throws IOException {
        if (!Files.isDirectory(root)) throw new NoSuchFileException(root.toString(), null, "not a folder of class sub-folders");
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory).sorted().toList();
        }
        if (classDirs.isEmpty()) throw new IOException(root + " has no class sub-folders (expected one sub-folder of images per class)");
        return classDirs;
    }

    /** The folder's images prepared by {@code preprocessor}, which encodes them as {@link InputEncoding#IMAGENET} does. */
    public static ImageFolder open(Path root, ImagePreprocessor preprocessor) throws IOException {
        return open(root, preprocessor, InputEncoding.IMAGENET);
    }

    /** The folder's images prepared by {@code preprocessor}, one of {@code encoding}'s (which trained networks record). */
    public static ImageFolder open(Path root, ImagePreprocessor preprocessor, InputEncoding encoding) throws IOException {
        List<Path> classDirs = classFolders(root);
        List<String> names = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < classDirs.size(); c++) {
            names.add(classDirs.get(c).getFileName().toString());
            for (Path p : imagesIn(classDirs.get(c))) {
                files.add(p);
                labels.add(c);
            }
        }
        if (files.isEmpty()) throw new IOException(root + " holds no .jpg, .jpeg or .png files in its class sub-folders");
        return new ImageFolder(root.getFileName() + "", List.copyOf(names), List.copyOf(files),
                labels.stream().mapToInt(Integer::intValue).toArray(), preprocessor, encoding);
    }

    @Override
    public InputEncoding encoding() {
        return encoding;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    public Path file(int index) {
        return files.get(index);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return files.size();
    }

    @Override
    public int classes() {
        return classNames.size();
    }

    @Override
    public int channels() {
        return 3;
    }

    @Override
    public int imageSize() {
        return preprocessor.cropSize();
    }

    @Override
    public int label(int index) {
        return labels[index];
    }

    @Override
    public void image(int index, float[] out, int offset) throws IOException {
        preprocessor.loadInto(files.get(index), out, offset);
    }
}
