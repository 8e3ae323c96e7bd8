/**
 * The paper's data augmentation as pure-Java building blocks: {@link dev.alexnetffm.engine.data.augment.RandomCropFlip}
 * (random 227x227 crops of 256x256 images and horizontal flips), {@link dev.alexnetffm.engine.data.augment.PcaColour}
 * (the PCA colour offset), {@link dev.alexnetffm.engine.data.augment.TenCrop} (test-time ten crops and softmax
 * averaging) and the {@link dev.alexnetffm.engine.data.augment.Augmented} data set that combines them.
 *
 * <p>Every random choice is a pure function of (seed, epoch, item) through {@link
 * dev.alexnetffm.engine.data.augment.CounterRandom}, so results do not depend on which loader thread handled an item
 * or in which order items were visited.
 */
package dev.alexnetffm.engine.data.augment;
