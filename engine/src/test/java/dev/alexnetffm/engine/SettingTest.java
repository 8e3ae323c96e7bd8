package dev.alexnetffm.engine;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SettingTest {
    private static final Map<String, Integer> VALUES = Map.of("low", 1, "high", 2);
    private static final Setting SETTING = new Setting("alexnet.test.setting", "ALEXNET_TEST_SETTING_NEVER_SET",
            "use low or high");

    @Test
    void wordsAreReadWithoutCaseOrSurroundingBlanks() {
        assertEquals(2, SETTING.parse("X", " High\t", 0, VALUES));
        assertEquals(1, SETTING.parse("X", "LOW", 0, VALUES));
    }

    @Test
    void unsetOrBlankMeansTheDefault() {
        assertEquals(7, SETTING.parse("X", null, 7, VALUES));
        assertEquals(7, SETTING.parse("X", "  ", 7, VALUES));
    }

    @Test
    void anyOtherValueIsAnErrorNamingTheSourceTheValueAndTheChoices() {
        var e = assertThrows(IllegalArgumentException.class, () -> SETTING.parse("ALEXNET_TEST", "medium", 0, VALUES));
        assertEquals("ALEXNET_TEST is 'medium': use low or high", e.getMessage());
    }

    @Test
    void theSystemPropertyIsReadFirstAndNamedInItsError() {
        assertEquals(0, SETTING.read(0, VALUES), "neither set: the default");
        System.setProperty(SETTING.property(), "high");
        try {
            assertEquals(2, SETTING.read(0, VALUES));
            System.setProperty(SETTING.property(), "loud");
            var e = assertThrows(IllegalArgumentException.class, () -> SETTING.read(0, VALUES));
            assertTrue(e.getMessage().startsWith("system property alexnet.test.setting is 'loud'"), e.getMessage());
        } finally {
            System.clearProperty(SETTING.property());
        }
    }
}
