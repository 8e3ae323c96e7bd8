package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.KernelSignature;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs without a GPU: every kernel the engine declares exists in the compiled PTX of every packaged target,
 * with the same number of parameters of the same sizes, in the same order.
 */
class KernelSignatureTest {
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)", Pattern.DOTALL);
    // ".param .u64 .ptr .global .align 4 name" or ".param .f32 name" or ".param .align 8 .b8 name[16]"
    private static final Pattern PARAM = Pattern.compile("\\.param\\b([^,]*?)(\\w+)(?:\\[(\\d+)])?\\s*$");
    private static final Pattern TYPE = Pattern.compile("\\.[busf](8|16|32|64)\\b");

    /** Kernel name -> parameter sizes in bytes, from a PTX module's text. */
    static Map<String, List<Integer>> entries(String ptx) {
        Map<String, List<Integer>> result = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            List<Integer> sizes = new ArrayList<>();
            String list = m.group(2).strip();
            if (!list.isEmpty()) {
                for (String p : list.split(",")) {
                    Matcher pm = PARAM.matcher(p.strip());
                    assertTrue(pm.find(), "unparsed PTX parameter: " + p);
                    Matcher tm = TYPE.matcher(pm.group(1));
                    assertTrue(tm.find(), "no type in PTX parameter: " + p);
                    int bytes = Integer.parseInt(tm.group(1)) / 8;
                    if (pm.group(3) != null) bytes *= Integer.parseInt(pm.group(3));
                    sizes.add(bytes);
                }
            }
            result.put(m.group(1), sizes);
        }
        return result;
    }

    @Test
    void parserReadsEveryParameterForm() {
        String ptx = """
                .visible .entry k(
                	.param .u64 .ptr .global .align 4 k_param_0,
                	.param .f32 k_param_1,
                	.param .u32 k_param_2,
                	.param .align 8 .b8 k_param_3[24]
                )
                .visible .entry empty()
                """;
        assertEquals(Map.of("k", List.of(8, 4, 4, 24), "empty", List.of()), entries(ptx));
    }

    @Test
    void everyDeclaredKernelMatchesItsPtxEntryOnEveryTarget() {
        KernelLibrary library = KernelLibrary.load();
        assertFalse(library.archs().isEmpty());
        List<KernelSignature> declared = Kernels.all();
        assertFalse(declared.isEmpty());
        List<String> problems = new ArrayList<>();
        for (int arch : library.archs()) {
            Map<String, Map<String, List<Integer>>> modules = new LinkedHashMap<>();
            for (KernelSignature k : declared) {
                Map<String, List<Integer>> entries = modules.computeIfAbsent(k.module(), m -> entries(library.ptx(m, arch)));
                List<Integer> expected = k.params().stream().map(p -> p.type().bytes()).toList();
                List<Integer> actual = entries.get(k.name());
                if (actual == null) {
                    problems.add("sm_" + arch + ": " + k + " has no .entry in " + k.module() + ".ptx (entries: " + entries.keySet() + ")");
                } else if (!actual.equals(expected)) {
                    problems.add("sm_" + arch + ": " + k + " declares parameter sizes " + expected + " but the PTX has " + actual);
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void declaredNamesAreUnique() {
        List<String> names = Kernels.all().stream().map(k -> k.module() + "." + k.name()).toList();
        assertEquals(names.size(), names.stream().distinct().count(), names.toString());
    }
}
