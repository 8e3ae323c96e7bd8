package dev.alexnetffm.cuda;

/**
 * A CUDA driver call returned an error. The message names the call, the error's name and the driver's
 * description of it, e.g. {@code cuMemAlloc_v2(1.50 GiB): CUDA_ERROR_OUT_OF_MEMORY (out of memory)}.
 */
public class CudaException extends RuntimeException {
    private final String call;
    private final int code;
    private final String errorName;
    private final String description;

    public CudaException(String call, int code, String errorName, String description, String hint) {
        super(call + ": " + errorName + " (" + description + ")" + (hint == null || hint.isEmpty() ? "" : ". " + hint));
        this.call = call;
        this.code = code;
        this.errorName = errorName;
        this.description = description;
    }

    /** The driver call that failed, with a short note of its arguments where that helps. */
    public String call() {
        return call;
    }

    /** The raw {@code CUresult}. */
    public int code() {
        return code;
    }

    public CuResult result() {
        return CuResult.valueOf(code);
    }

    /** The error's name as the driver gives it, e.g. {@code CUDA_ERROR_ILLEGAL_ADDRESS}. */
    public String errorName() {
        return errorName;
    }

    /** The driver's description of the error. */
    public String description() {
        return description;
    }
}
