package dev.alexnetffm.engine.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ShapeTest {
    @Test
    void sizesAndEquality() {
        Shape s = Shape.of(128, 96, 55, 55);
        assertEquals(128L * 96 * 55 * 55, s.size());
        assertEquals(96L * 55 * 55, s.sizeFrom(1));
        assertEquals(1, s.sizeFrom(4));
        assertEquals(s, Shape.of(128, 96, 55, 55));
        assertNotEquals(s, Shape.of(128, 96, 55));
        assertEquals("(128, 96, 55, 55)", s.toString());
        int[] dims = s.dims();
        dims[0] = 1;
        assertEquals(128, s.dim(0), "shapes are immutable");
    }

    @Test
    void badShapesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Shape.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.of(3, 0));
        assertTrue(e.getMessage().contains("[3, 0]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).requireRank(4, "x"));
        assertThrows(IllegalArgumentException.class, () -> new HostTensor(Shape.of(2, 3), new float[5]));
    }
}
