package dev.alexnetffm.cuda;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What Java believes a kernel's parameter list is. Launches are checked against it, and a build-time test checks
 * it against the PTX {@code .entry}, so that a change on one side cannot silently misplace arguments.
 *
 * @param module the PTX module (the {@code .cu} file's base name)
 * @param name   the {@code extern "C"} entry point
 * @param params the parameters in order
 */
public record KernelSignature(String module, String name, List<Param> params) {

    /** One named parameter. */
    public record Param(String name, ParamType type) {
        @Override
        public String toString() {
            return type.name().toLowerCase() + " " + name;
        }
    }

    public KernelSignature {
        params = List.copyOf(params);
    }

    public static KernelSignature of(String module, String name, Param... params) {
        return new KernelSignature(module, name, Arrays.asList(params));
    }

    public static Param ptr(String name) {
        return new Param(name, ParamType.PTR);
    }

    public static Param i32(String name) {
        return new Param(name, ParamType.I32);
    }

    public static Param i64(String name) {
        return new Param(name, ParamType.I64);
    }

    public static Param f32(String name) {
        return new Param(name, ParamType.F32);
    }

    @Override
    public String toString() {
        return module + "." + name + params.stream().map(Param::toString).collect(Collectors.joining(", ", "(", ")"));
    }
}
