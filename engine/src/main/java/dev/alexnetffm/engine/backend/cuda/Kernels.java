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
    public static final KernelSignature ADD_FORWARD = of("elementwise", "add_forward", ptr("out"), ptr("a"), ptr("b"), i64("n"));
    public static final KernelSignature COPY_CHANNELS = of("elementwise", "copy_channels",
            ptr("dst"), ptr("src"), i64("images"), i32("dstChannels"), i32("srcChannels"), i32("dstOffset"), i32("srcOffset"),
            i32("count"), i64("inner"));

    // conv2d.cu: each convolution kernel has one entry per row tile (64, 48, 96 or 128 output channels per block; the
    // suffix names the non-default ones), the same parameters; CudaBackend picks one per shape (convRowTile, or timed).
    public static final KernelSignature CONV2D_FORWARD = convForward("conv2d_forward");
    public static final KernelSignature CONV2D_FORWARD_M48 = convForward("conv2d_forward_m48");
    public static final KernelSignature CONV2D_FORWARD_M96 = convForward("conv2d_forward_m96");
    public static final KernelSignature CONV2D_FORWARD_M128 = convForward("conv2d_forward_m128");

    public static final KernelSignature CONV2D_FORWARD_SPLIT = of("conv2d", "conv2d_forward_split", ptr("partials"), ptr("in"), ptr("weight"),
            i32("N"), i32("C"), i32("H"), i32("W"), i32("K"), i32("R"), i32("S"), i32("P"), i32("Q"), i32("stride"), i32("pad"), i32("groups"),
            i32("chunk"));
    public static final KernelSignature CONV2D_FORWARD_REDUCE = of("conv2d", "conv2d_forward_reduce", ptr("out"), ptr("partials"), ptr("bias"),
            i64("total"), i32("K"), i32("PQ"), i32("splits"), i32("relu"));

    private static KernelSignature convForward(String entry) {
        return of("conv2d", entry, ptr("out"), ptr("in"), ptr("weight"), ptr("bias"), i32("N"), i32("C"), i32("H"), i32("W"), i32("K"),
                i32("R"), i32("S"), i32("P"), i32("Q"), i32("stride"), i32("pad"), i32("groups"), i32("relu"));
    }

    // winograd.cu: 3x3 stride-1 convolutions and their gradients by F(2x2, 3x3) (CudaBackend.setWinograd)
    public static final KernelSignature WINOGRAD_FILTER = of("winograd", "winograd_filter",
            ptr("U"), ptr("weight"), i32("K"), i32("Cg"), i32("groups"), i32("flip"));
    public static final KernelSignature WINOGRAD_INPUT = of("winograd", "winograd_input",
            ptr("V"), ptr("in"), i32("N"), i32("C"), i32("H"), i32("W"), i32("tilesH"), i32("tilesW"), i32("pad"));
    public static final KernelSignature WINOGRAD_GEMM = of("winograd", "winograd_gemm",
            ptr("M"), ptr("U"), ptr("V"), i32("rows"), i32("T"), i32("red"));
    public static final KernelSignature WINOGRAD_OUTPUT = of("winograd", "winograd_output",
            ptr("out"), ptr("M"), ptr("bias"), ptr("reluOut"), i32("N"), i32("K"), i32("P"), i32("Q"), i32("tilesH"), i32("tilesW"),
            i32("relu"));
    public static final KernelSignature WINOGRAD_GRAD_OUTPUT = of("winograd", "winograd_grad_output",
            ptr("D"), ptr("dOut"), i32("N"), i32("K"), i32("P"), i32("Q"), i32("tilesH"), i32("tilesW"));
    public static final KernelSignature WINOGRAD_WEIGHT_GEMM = of("winograd", "winograd_weight_gemm",
            ptr("W"), ptr("D"), ptr("V"), i32("rows"), i32("cols"), i32("T"), i32("chunk"), i32("splits"));
    public static final KernelSignature WINOGRAD_WEIGHT_REDUCE = of("winograd", "winograd_weight_reduce",
            ptr("dWeight"), ptr("W"), i32("K"), i32("Cg"), i32("groups"), i32("splits"));
    public static final KernelSignature WINOGRAD_BIAS_GRAD = of("winograd", "winograd_bias_grad",
            ptr("dBias"), ptr("D"), i32("K"), i32("T"));

    // lrn.cu
    public static final KernelSignature LRN_FORWARD = of("lrn", "lrn_forward",
            ptr("out"), ptr("in"), i32("N"), i32("C"), i32("H"), i32("W"), i32("size"), f32("alpha"), f32("beta"), f32("k"), i32("groups"));

    // pool.cu
    public static final KernelSignature MAXPOOL_FORWARD = of("pool", "maxpool_forward",
            ptr("out"), ptr("in"), i32("N"), i32("C"), i32("H"), i32("W"), i32("P"), i32("Q"), i32("window"), i32("stride"));

    // gemm.cu
    public static final KernelSignature LINEAR_FORWARD = of("gemm", "linear_forward",
            ptr("out"), ptr("in"), ptr("weight"), ptr("bias"), i32("N"), i32("C"), i32("K"), i32("chunk"), i32("relu"));
    public static final KernelSignature LINEAR_FORWARD_SMALL = of("gemm", "linear_forward_small",
            ptr("out"), ptr("in"), ptr("weight"), ptr("bias"), i32("N"), i32("C"), i32("K"), i32("relu"));
    public static final KernelSignature LINEAR_FORWARD_REDUCE = of("gemm", "linear_forward_reduce",
            ptr("out"), ptr("partials"), ptr("bias"), i32("N"), i32("K"), i32("splits"), i32("relu"));

    // softmax.cu
    public static final KernelSignature SOFTMAX_FORWARD = of("softmax", "softmax_forward", ptr("out"), ptr("in"), i32("N"), i32("K"));

    // ---- training ----

    // elementwise.cu
    public static final KernelSignature TANH_FORWARD = of("elementwise", "tanh_forward", ptr("out"), ptr("in"), i64("n"));
    public static final KernelSignature TANH_BACKWARD = of("elementwise", "tanh_backward", ptr("dIn"), ptr("dOut"), ptr("out"), i64("n"));
    public static final KernelSignature RELU_BACKWARD = of("elementwise", "relu_backward", ptr("dIn"), ptr("dOut"), ptr("out"), i64("n"));

    // conv2d.cu (row tiles as for CONV2D_FORWARD)
    public static final KernelSignature CONV2D_BACKWARD_DATA = convBackwardData("conv2d_backward_data");
    public static final KernelSignature CONV2D_BACKWARD_DATA_M48 = convBackwardData("conv2d_backward_data_m48");
    public static final KernelSignature CONV2D_BACKWARD_DATA_M96 = convBackwardData("conv2d_backward_data_m96");
    public static final KernelSignature CONV2D_BACKWARD_DATA_M128 = convBackwardData("conv2d_backward_data_m128");
    public static final KernelSignature CONV2D_BACKWARD_WEIGHT = convBackwardWeight("conv2d_backward_weight");
    public static final KernelSignature CONV2D_BACKWARD_WEIGHT_M48 = convBackwardWeight("conv2d_backward_weight_m48");
    public static final KernelSignature CONV2D_BACKWARD_WEIGHT_M96 = convBackwardWeight("conv2d_backward_weight_m96");
    public static final KernelSignature CONV2D_BACKWARD_WEIGHT_M128 = convBackwardWeight("conv2d_backward_weight_m128");
    // ... and the row tiles 64, 128 and 48 of both with as many resident blocks as 128 registers per thread allow
    // (the same bits)
    public static final KernelSignature CONV2D_BACKWARD_DATA_R128 = convBackwardData("conv2d_backward_data_r128");
    public static final KernelSignature CONV2D_BACKWARD_DATA_M128_R128 = convBackwardData("conv2d_backward_data_m128_r128");
    public static final KernelSignature CONV2D_BACKWARD_DATA_M48_R128 = convBackwardData("conv2d_backward_data_m48_r128");
    public static final KernelSignature CONV2D_BACKWARD_WEIGHT_R128 = convBackwardWeight("conv2d_backward_weight_r128");
    public static final KernelSignature CONV2D_BACKWARD_WEIGHT_M128_R128 = convBackwardWeight("conv2d_backward_weight_m128_r128");
    public static final KernelSignature CONV2D_BACKWARD_WEIGHT_M48_R128 = convBackwardWeight("conv2d_backward_weight_m48_r128");

    private static KernelSignature convBackwardData(String entry) {
        return of("conv2d", entry, ptr("dIn"), ptr("dOut"), ptr("weight"), ptr("reluOut"), i32("N"), i32("C"), i32("H"), i32("W"), i32("K"),
                i32("R"), i32("S"), i32("P"), i32("Q"), i32("stride"), i32("pad"), i32("groups"));
    }

    private static KernelSignature convBackwardWeight(String entry) {
        return of("conv2d", entry, ptr("dWeight"), ptr("dBias"), ptr("dOut"), ptr("in"), i32("N"), i32("C"), i32("H"), i32("W"), i32("K"),
                i32("R"), i32("S"), i32("P"), i32("Q"), i32("stride"), i32("pad"), i32("groups"), i32("chunk"));
    }
    public static final KernelSignature CONV2D_BACKWARD_WEIGHT_REDUCE = of("conv2d", "conv2d_backward_weight_reduce",
            ptr("dWeight"), ptr("dBias"), ptr("partials"), i32("K"), i32("CRS"), i32("splits"));

    // lrn.cu: two entries, the same parameters and bits for every size; lrn_backward keeps register windows for sizes up
    // to LRN_BACKWARD_MAX_SIZE only, and so fewer registers than lrn_backward_wide, which has them up to 17.
    public static final KernelSignature LRN_BACKWARD = lrnBackward("lrn_backward");
    public static final KernelSignature LRN_BACKWARD_WIDE = lrnBackward("lrn_backward_wide");
    public static final int LRN_BACKWARD_MAX_SIZE = 5;

    private static KernelSignature lrnBackward(String entry) {
        return of("lrn", entry, ptr("dIn"), ptr("dOut"), ptr("in"), ptr("out"), i32("N"), i32("C"), i32("H"), i32("W"), i32("size"),
                f32("alpha"), f32("beta"), f32("k"), i32("groups"), i32("relu"));
    }

    // pool.cu
    public static final KernelSignature MAXPOOL_BACKWARD = of("pool", "maxpool_backward",
            ptr("dIn"), ptr("dOut"), ptr("in"), i32("N"), i32("C"), i32("H"), i32("W"), i32("P"), i32("Q"), i32("window"), i32("stride"),
            i32("relu"));
    /** maxpool_backward's parameters, then the (n, c) planes each block takes (CudaBackend.maxPoolPlanesPerBlock). */
    public static final KernelSignature MAXPOOL_BACKWARD_PLANES = of("pool", "maxpool_backward_planes",
            ptr("dIn"), ptr("dOut"), ptr("in"), i32("N"), i32("C"), i32("H"), i32("W"), i32("P"), i32("Q"), i32("window"), i32("stride"),
            i32("relu"), i32("planes"));

    // gemm.cu
    public static final KernelSignature LINEAR_BACKWARD_DATA = of("gemm", "linear_backward_data",
            ptr("dIn"), ptr("dOut"), ptr("weight"), i32("N"), i32("C"), i32("K"), i32("chunk"));
    public static final KernelSignature LINEAR_BACKWARD_WEIGHT = of("gemm", "linear_backward_weight",
            ptr("dWeight"), ptr("dOut"), ptr("in"), i32("N"), i32("C"), i32("K"), i32("chunk"));
    public static final KernelSignature LINEAR_BACKWARD_REDUCE = of("gemm", "linear_backward_reduce",
            ptr("out"), ptr("partials"), i64("total"), i32("splits"));
    public static final KernelSignature LINEAR_BACKWARD_BIAS = of("gemm", "linear_backward_bias", ptr("dBias"), ptr("dOut"), i32("N"), i32("K"));

    // dropout.cu
    public static final KernelSignature DROPOUT_FORWARD = of("dropout", "dropout_forward",
            ptr("out"), ptr("in"), i64("n"), f32("p"), f32("scale"), i64("seed"), i32("layer"), i64("step"));
    public static final KernelSignature DROPOUT_BACKWARD = of("dropout", "dropout_backward",
            ptr("dIn"), ptr("dOut"), i64("n"), f32("p"), f32("scale"), i64("seed"), i32("layer"), i64("step"));

    // softmax.cu
    public static final KernelSignature SOFTMAX_XENT = of("softmax", "softmax_xent",
            ptr("dLogits"), ptr("losses"), ptr("logits"), ptr("labels"), i32("N"), i32("K"));

    // sgd.cu
    public static final KernelSignature SGD_UPDATE = of("sgd", "sgd_update",
            ptr("weight"), ptr("velocity"), ptr("grad"), f32("lr"), f32("momentum"), f32("decay"), i64("n"));

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
