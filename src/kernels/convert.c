// convert.c — scalar conversions between fp32 and the 16-bit float formats of checkpoints (IEEE
// half, bfloat16): exact widening, round-to-nearest-even narrowing. The array forms the matmuls use
// are in bf16.c.
#include <string.h>

#include "tf_kernels.h"
#include "vecmath.h"

static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float tf_bf16_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }

// IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits; subnormals are m * 2^-24.
float tf_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0x1f) return bits_f32(sign | 0x7f800000u | (m << 13));   // inf / nan
    if (e != 0) return bits_f32(sign | ((e + 112) << 23) | (m << 13)); // normal: rebias 15 -> 127
    if (m == 0) return bits_f32(sign);
    // subnormal: normalise the mantissa
    int shift = 0;
    while (!(m & 0x400)) { m <<= 1; shift++; }
    m &= 0x3ff;
    return bits_f32(sign | ((uint32_t)(113 - shift) << 23) | (m << 13));
}

uint16_t tf_f32_to_bf16(float x) { return vm_bf16(x); }

uint16_t tf_f32_to_f16(float x) {
    uint32_t u = f32_bits(x);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00;                      // NaN
    if (a >= 0x477ff000u) return sign | 0x7c00;                     // >= 65520 rounds to inf
    if (a >= 0x38800000u) {                                         // normal half (>= 2^-14)
        uint32_t r = a + 0xfffu + ((a >> 13) & 1);                  // round mantissa to 10 bits
        return sign | (uint16_t)((r - 0x38000000u) >> 13);          // rebias 127 -> 15
    }
    if (a < 0x33000000u) return sign;                               // below 2^-25: zero
    // subnormal half: value = m * 2^-24, m = round(x * 2^24) with ties to even
    uint32_t e = a >> 23, mant = (a & 0x7fffffu) | 0x800000u;       // x = mant * 2^(e - 150)
    int shift = (int)(126 - e);                                     // 2^-24 units: mant >> (126-e)
    uint32_t m = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (m & 1))) m++;
    return sign | (uint16_t)m;
}

