package dev.alexnetffm.cuda;

/**
 * The CUDA driver cannot be used on this machine: {@code libcuda.so.1} is missing, too old, or there is no GPU.
 * The message says which, and what to do about it.
 */
public class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
