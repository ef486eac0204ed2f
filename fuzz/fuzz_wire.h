/* fuzz_wire.h — what the wire fuzz target and its corpus generator share:
 * how one fuzz input is laid out.
 *
 * An input is one configuration byte, then frames separated by
 * FUZZ_WIRE_SEP. All frames of an input go to one decoder, in order, so
 * atom definitions made by one frame are used by the next. Configuration
 * bits: FUZZ_WIRE_SMALL decodes under small limits (so every limit is in
 * reach of a short input); FUZZ_WIRE_COLLIDE gives the atoms ids that all
 * share one cache slot (so re-encoding redefines it at every change). */
#ifndef FUZZ_WIRE_H
#define FUZZ_WIRE_H

#define FUZZ_WIRE_SEP     "\xf0\x0f\xf0\x0f"
#define FUZZ_WIRE_SEP_LEN 4

#define FUZZ_WIRE_SMALL   0x01
#define FUZZ_WIRE_COLLIDE 0x02

#endif
