package faultline;

import java.nio.charset.StandardCharsets;

/**
 * The id of a record written by a faultline producer: the value
 * {@code fl/<producer>/<seq>}, producer a u32 and seq a u64, each parsed as
 * Rust's {@code from_str} does (an optional leading '+', then decimal digits).
 * Any other value is {@code [4294967295, 0]}.
 */
record RecordId(long producer, long seq) {
    static final RecordId UNKNOWN = new RecordId(Events.UNKNOWN_PRODUCER, 0);

    static RecordId decode(byte[] value) {
        if (value == null) {
            return UNKNOWN;
        }
        String s = new String(value, StandardCharsets.UTF_8);
        if (!s.startsWith("fl/")) {
            return UNKNOWN;
        }
        String rest = s.substring(3);
        int slash = rest.indexOf('/');
        if (slash < 0) {
            return UNKNOWN;
        }
        Long producer = parseUnsigned(rest.substring(0, slash), false);
        Long seq = parseUnsigned(rest.substring(slash + 1), true);
        if (producer == null || seq == null) {
            return UNKNOWN;
        }
        return new RecordId(producer, seq);
    }

    /** A u32 (or, with wide, a u64 held in a long's bits); null if it is not one. */
    private static Long parseUnsigned(String s, boolean wide) {
        if (s.startsWith("+")) {
            s = s.substring(1);
        }
        if (s.isEmpty()) {
            return null;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
        }
        try {
            long n = Long.parseUnsignedLong(s);
            if (!wide && Long.compareUnsigned(n, 0xFFFF_FFFFL) > 0) {
                return null;
            }
            return n;
        } catch (NumberFormatException e) {
            return null; // past u64
        }
    }
}
