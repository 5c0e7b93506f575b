/*
 * vec4.h - four-double vectors for the row loops of the statistics kernels
 * (breaks_hc.c's HC sup-Wald path, ols.c's and qrpt.c's Householder QR; issue 17).
 *
 * How it works: v4d is a GCC/clang generic vector of four doubles; the
 * compiler maps it to two SSE2 registers or one AVX register.  The kernels
 * keep every array they loop over padded with zeros to a multiple of four
 * entries, so a loop is whole groups of four; a sum over rows keeps one
 * partial sum per lane (rows t = lane mod 4) and adds the lanes in a fixed
 * order (hsum4).  The rounding is therefore the same whatever instructions
 * the compiler emits: without FP contraction (ISO C mode, the project's
 * default) the AVX2 clone of a kernel (LW_VEC_KERNEL) and the baseline one
 * give identical bits.  Loads and stores go through memcpy (no alignment or
 * aliasing assumptions).  The helpers are static inline: no v4d crosses a
 * function boundary that the ABI would see (hence -Wpsabi is silenced).
 */
#ifndef LEADWATCH_VEC4_H
#define LEADWATCH_VEC4_H

#include <stddef.h>
#include <string.h>

typedef double lw_v4d __attribute__((vector_size(4 * sizeof(double))));

/* (for the rest of the including file: see the last sentence above) */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* With GCC on x86-64 Linux a kernel marked LW_VEC_KERNEL is also compiled
 * for AVX2 (one instruction per v4d instead of two, and no spills of v4d
 * accumulators) and the copy is picked at load time (target_clones);
 * elsewhere, clang included (it rejects the inlined v4d helpers in a clone),
 * it is the plain function.  Only when optimising: at -O0 (the Debug/ASan
 * build) the helpers below are not inlined, so an AVX2 clone would call them
 * with the AVX calling convention for v4d while they were compiled with the
 * baseline one (v4d in memory): garbage arguments, a crash in lw_ld4.
 * Nor under ThreadSanitizer (GCC defines __SANITIZE_THREAD__; the LW_TSAN
 * build): GCC instruments the clones' resolver like any function (a call
 * to __tsan_func_entry through the PLT first), and the resolver is an ifunc
 * that the dynamic loader runs while it is still relocating the program,
 * before that call is bound: a jump to an unrelocated address, SIGSEGV
 * before main.  TSan checks the threads, not the kernels' instruction set:
 * the plain function is enough. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) &&       \
    defined(__OPTIMIZE__) && !defined(__SANITIZE_THREAD__)
#define LW_VEC_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define LW_VEC_KERNEL
#endif

/* The helpers are always inlined, at every optimisation level: a v4d never
 * crosses a call, so a clone and a helper can never disagree on how a v4d is
 * passed (the -O0 crash above; -O1, as the sanitizer build uses, inlines
 * small static inline functions only by heuristics). */
#if defined(__GNUC__)
#define LW_VEC_INLINE __attribute__((always_inline))
#else
#define LW_VEC_INLINE
#endif

/* n rounded up to a multiple of 4 (the padded length of a column). */
static inline LW_VEC_INLINE size_t lw_pad4(size_t n)
{
    return (n + 3) / 4 * 4;
}

static inline LW_VEC_INLINE lw_v4d lw_ld4(const double *p)
{
    lw_v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline LW_VEC_INLINE void lw_st4(double *p, lw_v4d v)
{
    memcpy(p, &v, sizeof v);
}

static inline LW_VEC_INLINE lw_v4d lw_splat4(double a)
{
    return (lw_v4d){a, a, a, a};
}

/* The lanes' sum in a fixed order: (l0 + l1) + (l2 + l3). */
static inline LW_VEC_INLINE double lw_hsum4(lw_v4d v)
{
    return (v[0] + v[1]) + (v[2] + v[3]);
}

#endif
