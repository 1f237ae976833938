/* The aialgs.data.Record message: protobuf-c decoding into the record view, the matrix view of
 * a record, the allocation-free fast path for the SDK's dense float32 records, and the
 * SDK-exact encoder (written by hand: sizes first, then bytes, no intermediate messages). */
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "io/record.pb-c.h"
#include "io/recordio.h"
#include "io/recordio_impl.h"

/* ---- Record view (protobuf-c) -------------------------------------------------------------- */

struct pb_alloc_state {
    bool failed;
};

static void *pb_alloc(void *data, size_t size)
{
    void *p = ar_alloc(size);
    if (!p)
        ((struct pb_alloc_state *)data)->failed = true;
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    ar_free(p);
}

struct record_impl {
    Aialgs__Data__Record *msg;
    struct pb_alloc_state st;
    ProtobufCAllocator alloc;
};

static size_t value_blobs(const Aialgs__Data__Value *v)
{
    if (v && v->value_case == AIALGS__DATA__VALUE__VALUE_BYTES && v->bytes)
        return v->bytes->n_value;
    return 0;
}

static void value_view(const Aialgs__Data__Value *v, struct ar_recordio_value *out,
                       struct ar_recordio_blob **blobs)
{
    memset(out, 0, sizeof *out);
    if (!v)
        return;
    switch (v->value_case) {
    case AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR: {
        const Aialgs__Data__Float32Tensor *t = v->float32_tensor;
        out->kind = AR_RECORDIO_F32;
        out->n_values = t->n_values;
        out->values = t->values;
        out->n_keys = t->n_keys;
        out->keys = t->keys;
        out->n_shape = t->n_shape;
        out->shape = t->shape;
        break;
    }
    case AIALGS__DATA__VALUE__VALUE_FLOAT64_TENSOR: {
        const Aialgs__Data__Float64Tensor *t = v->float64_tensor;
        out->kind = AR_RECORDIO_F64;
        out->n_values = t->n_values;
        out->values = t->values;
        out->n_keys = t->n_keys;
        out->keys = t->keys;
        out->n_shape = t->n_shape;
        out->shape = t->shape;
        break;
    }
    case AIALGS__DATA__VALUE__VALUE_INT32_TENSOR: {
        const Aialgs__Data__Int32Tensor *t = v->int32_tensor;
        out->kind = AR_RECORDIO_I32;
        out->n_values = t->n_values;
        out->values = t->values;
        out->n_keys = t->n_keys;
        out->keys = t->keys;
        out->n_shape = t->n_shape;
        out->shape = t->shape;
        break;
    }
    case AIALGS__DATA__VALUE__VALUE_BYTES: {
        const Aialgs__Data__Bytes *b = v->bytes;
        out->kind = AR_RECORDIO_BYTES;
        out->n_blobs = b->n_value;
        out->blobs = *blobs;
        for (size_t i = 0; i < b->n_value; i++) {
            (*blobs)[i].len = b->value[i].len;
            (*blobs)[i].data = b->value[i].data;
        }
        *blobs += b->n_value;
        out->content_type = b->content_type;
        break;
    }
    default:
        break;
    }
}

static bool key_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Entries of a map with earlier duplicates of a key dropped (protobuf: the last one wins).
 * FeaturesEntry and LabelEntry have the same layout; both are read through this view. */
static size_t map_view(Aialgs__Data__Record__FeaturesEntry *const *e, size_t n,
                       struct ar_recordio_entry *out, struct ar_recordio_blob **blobs)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool later = false;
        for (size_t j = i + 1; j < n && !later; j++)
            later = key_eq(e[i]->key, e[j]->key);
        if (later)
            continue;
        out[k].key = e[i]->key ? e[i]->key : "";
        value_view(e[i]->value, &out[k].value, blobs);
        k++;
    }
    return k;
}

int ar_recordio_record_decode(const void *payload, size_t len, struct ar_recordio_record *out)
{
    memset(out, 0, sizeof *out);
    struct record_impl *impl = ar_alloc(sizeof *impl);
    if (!impl)
        return AR_ERR_NOMEM;
    impl->st.failed = false;
    impl->alloc.alloc = pb_alloc;
    impl->alloc.free = pb_free;
    impl->alloc.allocator_data = &impl->st;
    impl->msg = aialgs__data__record__unpack(&impl->alloc, len, payload);
    if (!impl->msg) {
        bool oom = impl->st.failed;
        ar_free(impl);
        if (oom)
            return ar_err_set(AR_ERR_NOMEM, "out of memory decoding a %zu-byte record", len);
        return ar_err_set(AR_ERR_FORMAT, "payload is not a valid aialgs.data.Record");
    }
    Aialgs__Data__Record *m = impl->msg;
    size_t n_blobs = 0;
    for (size_t i = 0; i < m->n_features; i++)
        n_blobs += value_blobs(m->features[i]->value);
    for (size_t i = 0; i < m->n_label; i++)
        n_blobs += value_blobs(m->label[i]->value);
    size_t n_ent = m->n_features + m->n_label;
    /* one block: entries, then blobs */
    size_t ent_bytes = n_ent * sizeof(struct ar_recordio_entry);
    struct ar_recordio_entry *ents =
        ar_alloc(ent_bytes + n_blobs * sizeof(struct ar_recordio_blob));
    if (!ents) {
        aialgs__data__record__free_unpacked(m, &impl->alloc);
        ar_free(impl);
        return AR_ERR_NOMEM;
    }
    struct ar_recordio_blob *blobs = (struct ar_recordio_blob *)(void *)((char *)ents + ent_bytes);
    out->n_features = map_view(m->features, m->n_features, ents, &blobs);
    struct ar_recordio_entry *lab = ents + out->n_features;
    out->n_label = map_view((Aialgs__Data__Record__FeaturesEntry *const *)(void *)m->label,
                            m->n_label, lab, &blobs);
    out->features = ents;
    out->label = lab;
    out->uid = m->uid;
    out->metadata = m->metadata;
    out->configuration = m->configuration;
    out->impl = impl; /* the entry block is freed through out->features */
    return AR_OK;
}

void ar_recordio_record_release(struct ar_recordio_record *rec)
{
    struct record_impl *impl = rec->impl;
    if (impl) {
        aialgs__data__record__free_unpacked(impl->msg, &impl->alloc);
        ar_free(impl);
        ar_free((void *)rec->features);
    }
    memset(rec, 0, sizeof *rec);
}

const struct ar_recordio_entry *ar_recordio_entry_find(const struct ar_recordio_entry *e, size_t n,
                                                       const char *key)
{
    for (size_t i = n; i-- > 0;)
        if (strcmp(e[i].key, key) == 0)
            return &e[i];
    return NULL;
}

/* ---- Matrix view --------------------------------------------------------------------------- */

float ar_recordio_row_value(const struct ar_recordio_row *row, size_t i)
{
    const char *p = row->values;
    switch (row->kind) {
    case AR_RECORDIO_F32: {
        float f;
        memcpy(&f, p + i * 4, 4);
        return f;
    }
    case AR_RECORDIO_F64: {
        double d;
        memcpy(&d, p + i * 8, 8);
        return (float)d;
    }
    case AR_RECORDIO_I32: {
        int32_t v;
        memcpy(&v, p + i * 4, 4);
        return (float)v;
    }
    default:
        AR_ASSERT(!"row of a non-numeric kind");
        return 0;
    }
}

static const char *kind_name(enum ar_recordio_kind k)
{
    switch (k) {
    case AR_RECORDIO_F32:
        return "float32";
    case AR_RECORDIO_F64:
        return "float64";
    case AR_RECORDIO_I32:
        return "int32";
    case AR_RECORDIO_BYTES:
        return "bytes";
    default:
        return "empty";
    }
}

static bool is_tensor(enum ar_recordio_kind k)
{
    return k == AR_RECORDIO_F32 || k == AR_RECORDIO_F64 || k == AR_RECORDIO_I32;
}

int ar_recordio_row_from_record(const struct ar_recordio_record *rec, struct ar_recordio_row *row)
{
    memset(row, 0, sizeof *row);
    const struct ar_recordio_entry *f =
        ar_recordio_entry_find(rec->features, rec->n_features, "values");
    if (!f)
        return ar_err_set(AR_ERR_FORMAT, "features map has no 'values' entry");
    const struct ar_recordio_value *v = &f->value;
    if (!is_tensor(v->kind))
        return ar_err_set(AR_ERR_FORMAT, "features 'values' is a %s value, not a tensor",
                          kind_name(v->kind));
    row->kind = v->kind;
    row->values = v->values;
    row->n_values = v->n_values;
    row->sparse = v->n_keys > 0 || (v->n_shape > 0 && v->n_values == 0);
    if (row->sparse) {
        if (v->n_shape == 0)
            return ar_err_set(AR_ERR_FORMAT, "sparse tensor (keys present) has no shape");
        if (v->n_keys != v->n_values)
            return ar_err_set(AR_ERR_FORMAT, "sparse tensor has %zu keys but %zu values", v->n_keys,
                              v->n_values);
        row->width = v->shape[0];
        row->keys = v->keys;
        for (size_t j = 0; j < v->n_keys; j++)
            if (v->keys[j] >= row->width)
                return ar_err_set(AR_ERR_FORMAT, "sparse key %llu >= shape[0] %llu",
                                  (unsigned long long)v->keys[j], (unsigned long long)row->width);
    } else {
        row->width = v->n_values;
    }
    const struct ar_recordio_entry *l = ar_recordio_entry_find(rec->label, rec->n_label, "values");
    if (l) {
        const struct ar_recordio_value *lv = &l->value;
        if (!is_tensor(lv->kind) || lv->n_keys > 0 || lv->n_values != 1)
            return ar_err_set(AR_ERR_FORMAT,
                              "label 'values' must be one number, is a %s value with %zu values",
                              kind_name(lv->kind), lv->n_values);
        row->has_label = true;
        row->label_kind = lv->kind;
        if (lv->kind == AR_RECORDIO_F32)
            row->label = (double)((const float *)lv->values)[0];
        else if (lv->kind == AR_RECORDIO_F64)
            row->label = ((const double *)lv->values)[0];
        else
            row->label = ((const int32_t *)lv->values)[0];
    }
    return AR_OK;
}

/* ---- Fast path ----------------------------------------------------------------------------- */

/* A varint of at most `max` bytes; false when longer or cut. */
static bool fp_varint(const uint8_t **p, const uint8_t *end, unsigned max, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < max && *p < end; i++) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* A length-delimited field body after its tag (lengths as protobuf-c reads them: <= 5 bytes). */
static bool fp_body(const uint8_t **p, const uint8_t *end, const uint8_t **body, size_t *n)
{
    uint64_t len;
    if (!fp_varint(p, end, 5, &len) || len > (uint64_t)(end - *p))
        return false;
    *body = *p;
    *n = (size_t)len;
    *p += len;
    return true;
}

/* A map entry {key "values", value Value}; key and value once each, any order. */
static bool fp_entry(const uint8_t *p, const uint8_t *end, const uint8_t **val, size_t *val_n)
{
    bool have_key = false, have_val = false;
    while (p < end) {
        uint8_t tag = *p++;
        const uint8_t *b;
        size_t n;
        if ((tag != 0x0a && tag != 0x12) || !fp_body(&p, end, &b, &n))
            return false;
        if (tag == 0x0a) {
            if (have_key || n != 6 || memcmp(b, "values", 6) != 0)
                return false;
            have_key = true;
        } else {
            if (have_val)
                return false;
            have_val = true;
            *val = b;
            *val_n = n;
        }
    }
    return have_key && have_val;
}

/* A Value holding exactly one tensor member; its tag and body. */
static bool fp_value(const uint8_t *p, const uint8_t *end, uint8_t *tag, const uint8_t **t,
                     size_t *tn)
{
    if (p >= end)
        return false;
    *tag = *p++;
    return fp_body(&p, end, t, tn) && p == end;
}

/* A tensor with only a packed values field (or nothing); its body. */
static bool fp_tensor(const uint8_t *p, const uint8_t *end, const uint8_t **v, size_t *vn)
{
    *v = p;
    *vn = 0;
    if (p == end)
        return true;
    if (*p++ != 0x0a)
        return false;
    return fp_body(&p, end, v, vn) && p == end;
}

bool ar_recordio_row_fast(const void *payload, size_t len, struct ar_recordio_row *row)
{
    const uint8_t *p = payload, *end = p + len;
    const uint8_t *fe = NULL, *le = NULL;
    size_t fe_n = 0, le_n = 0;
    while (p < end) {
        uint8_t tag = *p++;
        const uint8_t *b;
        size_t n;
        if ((tag != 0x0a && tag != 0x12) || !fp_body(&p, end, &b, &n))
            return false;
        const uint8_t **slot = tag == 0x0a ? &fe : &le;
        if (*slot)
            return false; /* a second entry: leave key resolution to protobuf-c */
        *slot = b;
        *(tag == 0x0a ? &fe_n : &le_n) = n;
    }
    if (!fe)
        return false;
    const uint8_t *val, *t, *vals;
    size_t val_n, t_n, vals_n;
    uint8_t member;
    if (!fp_entry(fe, fe + fe_n, &val, &val_n) || !fp_value(val, val + val_n, &member, &t, &t_n) ||
        member != 0x12 || !fp_tensor(t, t + t_n, &vals, &vals_n) || vals_n % 4 != 0)
        return false;
    memset(row, 0, sizeof *row);
    row->kind = AR_RECORDIO_F32;
    row->n_values = vals_n / 4;
    row->width = row->n_values;
    row->values = vals;
    if (!le)
        return true;
    if (!fp_entry(le, le + le_n, &val, &val_n) || !fp_value(val, val + val_n, &member, &t, &t_n) ||
        !fp_tensor(t, t + t_n, &vals, &vals_n))
        return false;
    if (member == 0x12 && vals_n == 4) {
        float f;
        memcpy(&f, vals, 4);
        row->label_kind = AR_RECORDIO_F32;
        row->label = (double)f;
    } else if (member == 0x1a && vals_n == 8) {
        double d;
        memcpy(&d, vals, 8);
        row->label_kind = AR_RECORDIO_F64;
        row->label = d;
    } else if (member == 0x3a) {
        const uint8_t *q = vals;
        uint64_t u;
        if (!fp_varint(&q, vals + vals_n, 10, &u) || q != vals + vals_n)
            return false;
        row->label_kind = AR_RECORDIO_I32;
        row->label = (int32_t)(uint32_t)u; /* protobuf keeps the low 32 bits */
    } else {
        return false;
    }
    row->has_label = true;
    return true;
}

int ar_recordio_row_decode(struct ar_recordio_row_decoder *d, const void *payload, size_t len,
                           struct ar_recordio_row *row)
{
    if (d->have_rec) {
        ar_recordio_record_release(&d->rec);
        d->have_rec = false;
    }
    if (!d->no_fast && ar_recordio_row_fast(payload, len, row))
        return AR_OK;
    AR_TRY(ar_recordio_record_decode(payload, len, &d->rec));
    d->have_rec = true;
    return ar_recordio_row_from_record(&d->rec, row);
}

void ar_recordio_row_decoder_release(struct ar_recordio_row_decoder *d)
{
    if (d->have_rec)
        ar_recordio_record_release(&d->rec);
    d->have_rec = false;
}

/* ---- Encoder ------------------------------------------------------------------------------- */

static size_t vsize(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* tag + length + body */
static size_t field_size(size_t body)
{
    return 1 + vsize(body) + body;
}

static uint8_t *put_field(uint8_t *p, uint8_t tag, size_t body)
{
    *p++ = tag;
    return put_varint(p, body);
}

static size_t u64s_size(const uint64_t *v, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += vsize(v[i]);
    return s;
}

static size_t values_size(const struct ar_recordio_value *v)
{
    if (v->kind == AR_RECORDIO_F32)
        return v->n_values * 4;
    if (v->kind == AR_RECORDIO_F64)
        return v->n_values * 8;
    size_t s = 0;
    const int32_t *x = v->values;
    for (size_t i = 0; i < v->n_values; i++)
        s += vsize((uint64_t)(int64_t)x[i]); /* negatives: 10 bytes, as the SDK writes */
    return s;
}

static size_t member_size(const struct ar_recordio_value *v)
{
    size_t s = 0;
    if (v->kind == AR_RECORDIO_BYTES) {
        for (size_t i = 0; i < v->n_blobs; i++)
            s += field_size(v->blobs[i].len);
        if (v->content_type)
            s += field_size(strlen(v->content_type));
        return s;
    }
    if (v->n_values)
        s += field_size(values_size(v));
    if (v->n_keys)
        s += field_size(u64s_size(v->keys, v->n_keys));
    if (v->n_shape)
        s += field_size(u64s_size(v->shape, v->n_shape));
    return s;
}

static size_t value_size(const struct ar_recordio_value *v)
{
    return v->kind == AR_RECORDIO_NONE ? 0 : field_size(member_size(v));
}

static size_t entry_size(const struct ar_recordio_entry *e)
{
    return field_size(strlen(e->key)) + field_size(value_size(&e->value));
}

static uint8_t *put_u64s(uint8_t *p, uint8_t tag, const uint64_t *v, size_t n)
{
    if (!n)
        return p;
    p = put_field(p, tag, u64s_size(v, n));
    for (size_t i = 0; i < n; i++)
        p = put_varint(p, v[i]);
    return p;
}

static uint8_t *put_bytes(uint8_t *p, uint8_t tag, const void *b, size_t n)
{
    p = put_field(p, tag, n);
    if (n)
        memcpy(p, b, n);
    return p + n;
}

static uint8_t *put_value(uint8_t *p, const struct ar_recordio_value *v)
{
    static const uint8_t member_tag[] = {0, 0x12, 0x1a, 0x3a, 0x4a};
    if (v->kind == AR_RECORDIO_NONE)
        return p;
    p = put_field(p, member_tag[v->kind], member_size(v));
    if (v->kind == AR_RECORDIO_BYTES) {
        for (size_t i = 0; i < v->n_blobs; i++)
            p = put_bytes(p, 0x0a, v->blobs[i].data, v->blobs[i].len);
        if (v->content_type)
            p = put_bytes(p, 0x12, v->content_type, strlen(v->content_type));
        return p;
    }
    if (v->n_values) {
        p = put_field(p, 0x0a, values_size(v));
        if (v->kind == AR_RECORDIO_I32) {
            const int32_t *x = v->values;
            for (size_t i = 0; i < v->n_values; i++)
                p = put_varint(p, (uint64_t)(int64_t)x[i]);
        } else {
            size_t n = v->n_values * (v->kind == AR_RECORDIO_F32 ? 4 : 8);
            memcpy(p, v->values, n); /* little-endian host */
            p += n;
        }
    }
    p = put_u64s(p, 0x12, v->keys, v->n_keys);
    return put_u64s(p, 0x1a, v->shape, v->n_shape);
}

static uint8_t *put_map(uint8_t *p, uint8_t tag, const struct ar_recordio_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p = put_field(p, tag, entry_size(&e[i]));
        p = put_bytes(p, 0x0a, e[i].key, strlen(e[i].key));
        p = put_field(p, 0x12, value_size(&e[i].value));
        p = put_value(p, &e[i].value);
    }
    return p;
}

int ar_recordio_record_append(struct ar_recordio_buf *out, const struct ar_recordio_record *rec)
{
    size_t len = 0;
    for (size_t i = 0; i < rec->n_features; i++)
        len += field_size(entry_size(&rec->features[i]));
    for (size_t i = 0; i < rec->n_label; i++)
        len += field_size(entry_size(&rec->label[i]));
    const char *strs[3] = {rec->uid, rec->metadata, rec->configuration};
    for (int i = 0; i < 3; i++)
        if (strs[i])
            len += field_size(strlen(strs[i]));
    if (len > AR_RECORDIO_MAX_LENGTH)
        return ar_err_set(AR_ERR_LIMIT, "record of %zu bytes exceeds the RecordIO frame limit %u",
                          len, AR_RECORDIO_MAX_LENGTH);
    size_t pad = (0 - len) & 3;
    AR_TRY(ar_recordio_buf_reserve(out, 8 + len + pad));
    uint8_t *p = out->data + out->len;
    uint32_t words[2] = {AR_RECORDIO_MAGIC, (uint32_t)len};
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 4; k++)
            *p++ = (uint8_t)(words[w] >> (8 * k));
    uint8_t *start = p;
    p = put_map(p, 0x0a, rec->features, rec->n_features);
    p = put_map(p, 0x12, rec->label, rec->n_label);
    for (int i = 0; i < 3; i++)
        if (strs[i])
            p = put_bytes(p, (uint8_t)(0x1a + 8 * i), strs[i], strlen(strs[i]));
    AR_ASSERT((size_t)(p - start) == len);
    memset(p, 0, pad);
    out->len += 8 + len + pad;
    return AR_OK;
}

/* Converts n floats to `kind` into dst (float, double or int32_t). */
static int convert(const float *src, size_t n, enum ar_recordio_kind kind, void *dst, size_t row,
                   const uint32_t *cols)
{
    for (size_t j = 0; j < n; j++) {
        float x = src[j];
        if (kind == AR_RECORDIO_F32) {
            ((float *)dst)[j] = x;
        } else if (kind == AR_RECORDIO_F64) {
            ((double *)dst)[j] = (double)x;
        } else {
            if (!(x >= -2147483648.0f && x < 2147483648.0f) || x != (float)(int32_t)x)
                return ar_err_set(AR_ERR_INVALID, "row %zu, column %zu: %.9g is not an int32 value",
                                  row + 1, cols ? (size_t)cols[j] : j, (double)x);
            ((int32_t *)dst)[j] = (int32_t)x;
        }
    }
    return AR_OK;
}

static bool numeric_kind(enum ar_recordio_kind k)
{
    return k == AR_RECORDIO_F32 || k == AR_RECORDIO_F64 || k == AR_RECORDIO_I32;
}

int ar_recordio_write_rows(const struct ar_batch *b, enum ar_recordio_kind feature_kind,
                           enum ar_recordio_kind label_kind, struct ar_recordio_buf *out)
{
    if (!numeric_kind(feature_kind) ||
        (label_kind != AR_RECORDIO_NONE && !numeric_kind(label_kind)))
        return ar_err_set(AR_ERR_INVALID, "RecordIO writer: tensor kinds must be float32, "
                                          "float64 or int32");
    bool with_label = b->labels && label_kind != AR_RECORDIO_NONE;
    size_t max_n = b->n_cols;
    if (b->is_sparse)
        for (size_t i = 0; i < b->n_rows; i++) {
            size_t n = (size_t)(b->csr.indptr[i + 1] - b->csr.indptr[i]);
            max_n = n > max_n ? n : max_n;
        }
    /* scratch: converted values (8 bytes each) then keys */
    char *scratch = ar_allocn(max_n + 1, 16);
    if (!scratch)
        return AR_ERR_NOMEM;
    void *vals = scratch;
    uint64_t *keys = (uint64_t *)(void *)(scratch + (max_n + 1) * 8);
    uint64_t shape = b->n_cols;
    int rc = AR_OK;
    for (size_t i = 0; i < b->n_rows && rc == AR_OK; i++) {
        struct ar_recordio_entry fe = {"values", {0}}, le = {"values", {0}};
        fe.value.kind = feature_kind;
        fe.value.values = vals;
        if (b->is_sparse) {
            uint64_t lo = b->csr.indptr[i], hi = b->csr.indptr[i + 1];
            size_t n = (size_t)(hi - lo);
            rc = convert(b->csr.values + lo, n, feature_kind, vals, i, b->csr.indices + lo);
            for (size_t j = 0; j < n; j++)
                keys[j] = b->csr.indices[lo + j];
            fe.value.n_values = n;
            fe.value.n_keys = n;
            fe.value.keys = keys;
            fe.value.n_shape = 1;
            fe.value.shape = &shape;
        } else {
            rc = convert(ar_mat_row(&b->dense, i), b->n_cols, feature_kind, vals, i, NULL);
            fe.value.n_values = b->n_cols;
        }
        union {
            float f;
            double d;
            int32_t i;
        } lab;
        if (rc == AR_OK && with_label) {
            le.value.kind = label_kind;
            le.value.n_values = 1;
            le.value.values = &lab;
            rc = convert(&b->labels[i], 1, label_kind, &lab, i, NULL);
            if (rc != AR_OK)
                ar_err_prefix("label: ");
        }
        struct ar_recordio_record rec = {1, &fe, with_label ? 1 : 0, &le, NULL, NULL, NULL, NULL};
        if (rc == AR_OK)
            rc = ar_recordio_record_append(out, &rec);
    }
    ar_free(scratch);
    return rc;
}

int ar_recordio_write_labels(size_t n_rows, const struct ar_recordio_label_col *cols, size_t n_cols,
                             struct ar_recordio_buf *out)
{
    struct ar_recordio_entry *ents = ar_allocn(n_cols ? n_cols : 1, sizeof *ents);
    if (!ents)
        return AR_ERR_NOMEM;
    int rc = AR_OK;
    for (size_t i = 0; i < n_rows && rc == AR_OK; i++) {
        for (size_t c = 0; c < n_cols; c++) {
            memset(&ents[c], 0, sizeof ents[c]);
            ents[c].key = cols[c].key;
            ents[c].value.kind = AR_RECORDIO_F32;
            ents[c].value.n_values = cols[c].width;
            ents[c].value.values = cols[c].values + i * cols[c].width;
        }
        struct ar_recordio_record rec = {0, NULL, n_cols, ents, NULL, NULL, NULL, NULL};
        rc = ar_recordio_record_append(out, &rec);
    }
    ar_free(ents);
    return rc;
}
