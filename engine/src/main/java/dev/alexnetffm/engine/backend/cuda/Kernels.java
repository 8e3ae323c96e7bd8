package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.KernelSignature;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import static dev.alexnetffm.cuda.KernelSignature.f32;
import static dev.alexnetffm.cuda.KernelSignature.i32;
import static dev.alexnetffm.cuda.KernelSignature.i64;
import static dev.alexnetffm.cuda.KernelSignature.of;
import static dev.alexnetffm.cuda.KernelSignature.ptr;

/**
 * Every kernel the engine launches, with the parameter list Java passes. {@code KernelSignatureTest} checks each
 * against the {@code .entry} in the compiled PTX, so the two cannot drift apart.
 */
public final class Kernels {
    private Kernels() {}

    // launch.cu
    public static final KernelSignature NOOP = of("launch", "noop");

    // elementwise.cu
    public static final KernelSignature FILL = of("elementwise", "fill", ptr("out"), f32("value"), i64("n"));
    public static final KernelSignature RELU_FORWARD = of("elementwise", "relu_forward", ptr("out"), ptr("in"), i64("n"));
    public static final KernelSignature BIAS_ADD_FORWARD = of("elementwise", "bias_add_forward",
            ptr("out"), ptr("in"), ptr("bias"), i32("C"), i32("HW"), i64("total"));

    // conv2d.cu
    public static final KernelSignature CONV2D_FORWARD = of("conv2d", "conv2d_forward",
            ptr("out"), ptr("in"), ptr("weight"), ptr("bias"), i32("N"), i32("C"), i32("H"), i32("W"), i32("K"), i32("R"), i32("S"),
            i32("P"), i32("Q"), i32("stride"), i32("pad"), i32("groups"), i32("relu"));

    // lrn.cu
    public static final KernelSignature LRN_FORWARD = of("lrn", "lrn_forward",
            ptr("out"), ptr("in"), i32("N"), i32("C"), i32("H"), i32("W"), i32("size"), f32("alpha"), f32("beta"), f32("k"), i32("groups"));

    // pool.cu
    public static final KernelSignature MAXPOOL_FORWARD = of("pool", "maxpool_forward",
            ptr("out"), ptr("in"), i32("N"), i32("C"), i32("H"), i32("W"), i32("P"), i32("Q"), i32("window"), i32("stride"));

    // gemm.cu
    public static final KernelSignature LINEAR_FORWARD = of("gemm", "linear_forward",
            ptr("out"), ptr("in"), ptr("weight"), ptr("bias"), i32("N"), i32("C"), i32("K"), i32("chunk"), i32("relu"));
    public static final KernelSignature LINEAR_FORWARD_REDUCE = of("gemm", "linear_forward_reduce",
            ptr("out"), ptr("partials"), ptr("bias"), i32("N"), i32("K"), i32("splits"), i32("relu"));

    // softmax.cu
    public static final KernelSignature SOFTMAX_FORWARD = of("softmax", "softmax_forward", ptr("out"), ptr("in"), i32("N"), i32("K"));

    /** All of the above, found by reflection so that a new constant cannot be left out of the check. */
    public static List<KernelSignature> all() {
        List<KernelSignature> list = new ArrayList<>();
        for (Field f : Kernels.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == KernelSignature.class) {
                try {
                    list.add((KernelSignature) f.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return List.copyOf(list);
    }
}
