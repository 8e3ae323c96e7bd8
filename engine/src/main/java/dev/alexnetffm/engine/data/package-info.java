/**
 * Input data for inference: {@link dev.alexnetffm.engine.data.ImagePreprocessor} (decode, resize the short
 * side to 256 with antialiased bilinear, centre-crop 227, subtract the mean, CHW floats),
 * {@link dev.alexnetffm.engine.data.ImageDecoder} (javax.imageio with clear errors for bad files),
 * {@link dev.alexnetffm.engine.data.ImageResampler} and {@link dev.alexnetffm.engine.data.Labels}.
 */
package dev.alexnetffm.engine.data;
