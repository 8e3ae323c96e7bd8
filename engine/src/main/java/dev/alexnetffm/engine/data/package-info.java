/**
 * Input data: {@link dev.alexnetffm.engine.data.ImagePreprocessor} (decode, resize the short side to 256 with
 * antialiased bilinear, centre-crop 227, subtract the mean, CHW floats), {@link dev.alexnetffm.engine.data.ImageDecoder}
 * (libjpeg-turbo or javax.imageio, with clear errors for bad files), {@link dev.alexnetffm.engine.data.ImageResampler},
 * {@link dev.alexnetffm.engine.data.Labels}; the training sets {@link dev.alexnetffm.engine.data.FashionMnist} and
 * {@link dev.alexnetffm.engine.data.ImageFolder}, an image folder resized once by
 * {@link dev.alexnetffm.engine.data.FolderPreparer}, and {@link dev.alexnetffm.engine.data.BatchLoader} (decoding on
 * background threads into pinned batches).
 */
package dev.alexnetffm.engine.data;
