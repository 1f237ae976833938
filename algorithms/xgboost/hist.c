/* Gradient histograms of one node: rows are a contiguous range of the node's row list with the
 * gradient pairs gathered in the same order. Each thread accumulates a contiguous slice of the
 * rows into its own double histogram; the partials are then summed slot by slot in thread
 * order, so a given thread count always gives the same bits. The row loop is specialised on
 * the code width (uint8 / uint16). */
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/par.h"

/* Rows per thread below which a node's histogram is built by one thread. */
#define HIST_MIN_ROWS_PER_THREAD 2048

/* Rows ahead whose code rows are prefetched (rows of a non-root node are scattered). */
#define HIST_PREFETCH 16

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* s[0] += pair[0], s[1] += pair[1]: with SSE2 one 128-bit add, giving the same two sums. */
static inline void slot_add(double *restrict s, const double *restrict pair)
{
#if defined(__SSE2__)
    _mm_storeu_pd(s, _mm_add_pd(_mm_loadu_pd(s), _mm_loadu_pd(pair)));
#else
    s[0] += pair[0];
    s[1] += pair[1];
#endif
}

/* Adds one row's pair to its slot of every feature: `width`-byte codes `bins`, features' first
 * slots `off`. Unrolled by four features. */
static inline void hist_row(int width, const void *restrict bins, size_t nf,
                            const uint32_t *restrict off, const double *restrict pair,
                            double *restrict out)
{
    const uint8_t *b8 = bins;
    const uint16_t *b16 = bins;
#define CODE(f) (width == 1 ? (size_t)b8[f] : (size_t)b16[f])
    size_t f = 0;
    for (; f + 4 <= nf; f += 4) {
        slot_add(out + 2 * (off[f] + CODE(f)), pair);
        slot_add(out + 2 * (off[f + 1] + CODE(f + 1)), pair);
        slot_add(out + 2 * (off[f + 2] + CODE(f + 2)), pair);
        slot_add(out + 2 * (off[f + 3] + CODE(f + 3)), pair);
    }
    for (; f < nf; f++)
        slot_add(out + 2 * (off[f] + CODE(f)), pair);
#undef CODE
}

/* Rows [lo, hi) of the node; the code rows HIST_PREFETCH rows ahead are prefetched. */
static inline void hist_rows(int width, const void *restrict codes, size_t nf,
                             const uint32_t *restrict off, const uint32_t *restrict rows,
                             const float *restrict gh, size_t lo, size_t hi, double *restrict out)
{
    const char *c = codes;
    const size_t row_bytes = nf * (size_t)width;
    const size_t pf_end = hi - lo > HIST_PREFETCH ? hi - HIST_PREFETCH : lo;
    for (size_t i = lo; i < hi; i++) {
        if (i < pf_end)
            __builtin_prefetch(c + (size_t)rows[i + HIST_PREFETCH] * row_bytes);
        const double pair[2] = {(double)gh[2 * i], (double)gh[2 * i + 1]};
        hist_row(width, c + (size_t)rows[i] * row_bytes, nf, off, pair, out);
    }
}

static void hist_rows_u8(const void *codes, size_t nf, const uint32_t *off, const uint32_t *rows,
                         const float *gh, size_t lo, size_t hi, double *out)
{
    hist_rows(1, codes, nf, off, rows, gh, lo, hi, out);
}

static void hist_rows_u16(const void *codes, size_t nf, const uint32_t *off, const uint32_t *rows,
                          const float *gh, size_t lo, size_t hi, double *out)
{
    hist_rows(2, codes, nf, off, rows, gh, lo, hi, out);
}

#if defined(__SSE2__)
/* Codes that fit in 8 bits with every slot's double index (2 * slot) in 16 bits: eight codes
 * at a time are widened, doubled and offset in one vector (off2[f] = 2 * hist_off[f]), so
 * each update is an extract and one 128-bit add. Same sums, fewer instructions. */
#define SLOT_ADD_LANE(v, j, pair, out)                                                             \
    do {                                                                                           \
        double *s_ = (out) + _mm_extract_epi16((v), (j));                                          \
        _mm_storeu_pd(s_, _mm_add_pd(_mm_loadu_pd(s_), (pair)));                                   \
    } while (0)

static void hist_rows_u8_idx(const uint8_t *restrict codes, size_t nf,
                             const uint16_t *restrict off2, const uint32_t *restrict rows,
                             const float *restrict gh, size_t lo, size_t hi, double *restrict out)
{
    const __m128i zero = _mm_setzero_si128();
    const size_t pf_end = hi - lo > HIST_PREFETCH ? hi - HIST_PREFETCH : lo;
    for (size_t i = lo; i < hi; i++) {
        if (i < pf_end)
            __builtin_prefetch(codes + (size_t)rows[i + HIST_PREFETCH] * nf);
        const uint8_t *bins = codes + (size_t)rows[i] * nf;
        const __m128d pair = _mm_cvtps_pd(
            _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)(gh + 2 * i))));
        size_t f = 0;
        for (; f + 8 <= nf; f += 8) {
            __m128i v =
                _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(const void *)(bins + f)), zero);
            v = _mm_add_epi16(_mm_add_epi16(v, v),
                              _mm_loadu_si128((const __m128i *)(const void *)(off2 + f)));
            SLOT_ADD_LANE(v, 0, pair, out);
            SLOT_ADD_LANE(v, 1, pair, out);
            SLOT_ADD_LANE(v, 2, pair, out);
            SLOT_ADD_LANE(v, 3, pair, out);
            SLOT_ADD_LANE(v, 4, pair, out);
            SLOT_ADD_LANE(v, 5, pair, out);
            SLOT_ADD_LANE(v, 6, pair, out);
            SLOT_ADD_LANE(v, 7, pair, out);
        }
        if (f < nf && nf >= 8) {
            /* the last nf - f features as the top lanes of the last eight */
            __m128i v = _mm_unpacklo_epi8(
                _mm_loadl_epi64((const __m128i *)(const void *)(bins + nf - 8)), zero);
            v = _mm_add_epi16(_mm_add_epi16(v, v),
                              _mm_loadu_si128((const __m128i *)(const void *)(off2 + nf - 8)));
            switch (nf - f) {
            case 7:
                SLOT_ADD_LANE(v, 1, pair, out);
                __attribute__((fallthrough));
            case 6:
                SLOT_ADD_LANE(v, 2, pair, out);
                __attribute__((fallthrough));
            case 5:
                SLOT_ADD_LANE(v, 3, pair, out);
                __attribute__((fallthrough));
            case 4:
                SLOT_ADD_LANE(v, 4, pair, out);
                __attribute__((fallthrough));
            case 3:
                SLOT_ADD_LANE(v, 5, pair, out);
                __attribute__((fallthrough));
            case 2:
                SLOT_ADD_LANE(v, 6, pair, out);
                __attribute__((fallthrough));
            default:
                SLOT_ADD_LANE(v, 7, pair, out);
            }
            f = nf;
        }
        for (; f < nf; f++) {
            double *s = out + off2[f] + 2 * (size_t)bins[f];
            _mm_storeu_pd(s, _mm_add_pd(_mm_loadu_pd(s), pair));
        }
    }
}
#undef SLOT_ADD_LANE
#endif

/* Features up to which the 16-bit slot index kernel is used (its offsets live on the stack). */
#define HIST_IDX_MAX_FEATURES 512

/* Rows [lo, hi) of rows/gh into out with the best kernel for b; off2 is filled when
 * use_idx. */
static void hist_kernel(const struct ar_gbt_binmat *b, bool use_idx, const uint16_t *off2,
                        const uint32_t *rows, const float *gh, size_t lo, size_t hi, double *out)
{
#if defined(__SSE2__)
    if (use_idx) {
        hist_rows_u8_idx(b->codes, b->n_features, off2, rows, gh, lo, hi, out);
        return;
    }
#else
    (void)use_idx;
    (void)off2;
#endif
    if (b->width == 1)
        hist_rows_u8(b->codes, b->n_features, b->hist_off, rows, gh, lo, hi, out);
    else
        hist_rows_u16(b->codes, b->n_features, b->hist_off, rows, gh, lo, hi, out);
}

void ar_gbt_hist_build(const struct ar_gbt_binmat *b, const uint32_t *rows, const float *gh,
                       size_t n, int n_threads, double *scratch, double *hist)
{
    const size_t nf = b->n_features;
    const size_t slots = b->hist_off[nf];
    uint16_t off2[HIST_IDX_MAX_FEATURES];
    bool use_idx = false;
#if defined(__SSE2__)
    use_idx = b->width == 1 && nf <= HIST_IDX_MAX_FEATURES && 2 * (size_t)slots <= 65535;
    if (use_idx)
        for (size_t f = 0; f < nf; f++)
            off2[f] = (uint16_t)(2 * b->hist_off[f]);
#endif
    int nt = n_threads > 0 ? n_threads : 1;
    size_t want = n / HIST_MIN_ROWS_PER_THREAD;
    if (want < (size_t)nt)
        nt = want < 1 ? 1 : (int)want;
    if (nt == 1) {
        memset(hist, 0, 2 * slots * sizeof *hist);
        hist_kernel(b, use_idx, off2, rows, gh, 0, n, hist);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int tid = ar_par_tid(), nth = ar_par_region_size();
        double *part = scratch + (size_t)tid * 2 * slots;
        memset(part, 0, 2 * slots * sizeof *part);
        size_t lo, hi;
        ar_par_range(n, tid, nth, &lo, &hi);
        hist_kernel(b, use_idx, off2, rows, gh, lo, hi, part);
#pragma omp barrier
        size_t s0, s1;
        ar_par_range(2 * slots, tid, nth, &s0, &s1);
        for (size_t s = s0; s < s1; s++) {
            double acc = scratch[s];
            for (int t = 1; t < nth; t++)
                acc += scratch[(size_t)t * 2 * slots + s];
            hist[s] = acc;
        }
    }
}

void ar_gbt_hist_build_ref(const struct ar_gbt_binmat *b, const uint32_t *rows, const float *gh,
                           size_t n, double *hist)
{
    const size_t nf = b->n_features;
    memset(hist, 0, 2 * (size_t)b->hist_off[nf] * sizeof *hist);
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < nf; f++) {
            size_t slot = b->hist_off[f] + ar_gbt_binmat_get(b, rows[i], f);
            hist[2 * slot] += (double)gh[2 * i];
            hist[2 * slot + 1] += (double)gh[2 * i + 1];
        }
}

void ar_gbt_hist_subtract(const double *parent, const double *child, size_t n_slots, double *out)
{
    for (size_t s = 0; s < 2 * n_slots; s++)
        out[s] = parent[s] - child[s];
}
