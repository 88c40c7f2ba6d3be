/*
 * slab.c - "slab": size-class slabs carved from the page-frame allocator
 * (Bonwick 1994, in the shape of Linux's SLUB), requests above 2 KiB straight
 * to pages.
 *
 * A slab is a run of 1-8 pages holding objects of one size class. Its state
 * lives in the descriptor of its first page (page_frames.h), so objects carry
 * no header and free finds the slab of any pointer from its page: ha_free
 * needs no size. Each class keeps a list of partial slabs (some objects free)
 * and at most one empty spare, so alloc/free at a class boundary does not
 * hand the same pages back and forth; further empty slabs go back to the page
 * frames, and the spares are reclaimed before a page request fails. Objects
 * are carved from a new slab lazily (a bump index), so a fresh slab costs no
 * initialisation pass. Alloc and free are O(1) unless a new slab's pages must
 * be found (a bitmap scan, see page_frames.h).
 *
 * Large blocks and alloc_pages runs are page runs marked in their first
 * page's descriptor. All memory is page frames, so it moves freely between
 * slabs, large blocks and pages. The shared layer (locked_backend.h)
 * serialises every call.
 *
 * Invariants: a slab is on its class's partial list iff 0 < inuse < objects;
 * it is the class's spare iff inuse == 0; free objects + inuse == carved.
 */
#include "backend.h"
#include "checked/free_fill.h"
#include "checked/request_record.h"
#include "locked_backend.h"
#include "page_frames.h"

/* ---- tunable ------------------------------------------------------------- */
#define SLAB_MIN_OBJECTS 8  /* a slab is made of enough pages for this many objects ... */
#define SLAB_MAX_PAGES 8    /* ... but never more pages than this                        */
#define SLAB_WASTE_SHIFT 3  /* and wastes at most 1/8 of itself to rounding              */

/* Classes: every 16 bytes to 128, then four per power of two, so a block is
 * at most 25% larger than its request. Every class is a multiple of 16. */
static const uint16_t class_size[] = {
    16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256,
    320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048,
};

/* ---- derived, do not modify --------------------------------------------- */
#define SLAB_CLASSES (sizeof class_size / sizeof class_size[0])
#define SLAB_MAX_OBJECT 2048
#define SLAB_MAX_REQUEST (((size_t)-1) / 4)

enum page_kind {
    KIND_NONE = 0,  /* free, or inside a large block or page run            */
    KIND_SLAB,      /* first page of a slab                                 */
    KIND_SLAB_TAIL, /* another page of a slab; npages = distance to the first */
    KIND_LARGE,     /* first page of an ha_alloc block above 2 KiB          */
    KIND_PAGES,     /* first page of an alloc_pages run                     */
};

/* The descriptor of every page (page_frames.h). Fields other than kind and
 * npages mean something only in a slab's first page. */
struct slab_page {
    struct slab_page *next, *prev; /* partial list of the class             */
    uintptr_t base;                /* first object (= the slab's first page) */
    void *free;                    /* freed objects, linked through word 0   */
    uint32_t npages;               /* pages of the run (tail: distance back) */
    uint16_t inuse;                /* objects handed out                     */
    uint16_t carved;               /* objects ever handed out (bump index)   */
    uint8_t kind;                  /* enum page_kind                          */
    uint8_t class_idx;
};

struct slab_class {
    struct slab_page *partial; /* 0 < inuse < objects                       */
    struct slab_page *spare;   /* an empty slab kept for the next alloc     */
    uint16_t pages;            /* pages per slab                            */
    uint16_t objects;          /* objects per slab                          */
};

static struct {
    struct page_frames frames;
    struct slab_class classes[SLAB_CLASSES];
    size_t cached_bytes; /* free object bytes in slabs other than spares    */
    size_t spare_pages;
} slab;

_Static_assert(SLAB_MAX_OBJECT == 2048 && SLAB_CLASSES == 24, "class_index() follows the table");
_Static_assert(sizeof(struct slab_page) % 8 == 0, "descriptors are word arrays");
_Static_assert(SLAB_MAX_PAGES * HA_PAGE_SIZE / 16 <= 0xffff, "inuse and carved are 16-bit");

/* The smallest class holding n bytes (1 <= n <= SLAB_MAX_OBJECT). */
static inline unsigned class_index(size_t n)
{
    if (n <= 128)
        return (unsigned)((n + 15) / 16 - 1);
    unsigned lg = 63u - (unsigned)__builtin_clzll(n - 1);
    return 8 + (lg - 7) * 4 + (unsigned)((n - 1) >> (lg - 2)) - 4;
}

/* The class for a request, or -1 for the page path: a class serves an
 * alignment when its size is a multiple of it (slabs are page-aligned). */
static int class_for(size_t n, size_t align)
{
    if (n > SLAB_MAX_OBJECT || align > SLAB_MAX_OBJECT)
        return -1;
    for (unsigned c = class_index(n ? n : 1); c < SLAB_CLASSES; c++)
        if (class_size[c] % align == 0)
            return (int)c;
    return -1;
}

/* Pages of a large block; a zero-byte one still owns a page. */
static inline size_t pages_for(size_t n) { return n ? (n + HA_PAGE_SIZE - 1) / HA_PAGE_SIZE : 1; }

static inline struct slab_page *desc_of(const void *addr) { return page_frames_desc(&slab.frames, addr); }

static void list_push(struct slab_page **head, struct slab_page *s)
{
    s->prev = 0;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
}

static void list_remove(struct slab_page **head, struct slab_page *s)
{
    if (s->next)
        s->next->prev = s->prev;
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
}

static void destroy_slab(struct slab_page *s)
{
    const struct slab_class *cls = &slab.classes[s->class_idx];
    void *base = (void *)s->base;
    for (unsigned i = 0; i < s->npages; i++)
        s[i].kind = KIND_NONE;
    page_frames_free(&slab.frames, base, cls->pages);
}

/* Page frames for a slab, a large block or an alloc_pages run. Empty spare
 * slabs are reclaimed before this fails. */
static void *take_pages(size_t n, size_t align, enum page_kind kind)
{
    if (n > UINT32_MAX) /* npages is 32-bit: 16 TiB runs */
        return 0;
    void *base = page_frames_alloc(&slab.frames, n, align);
    if (!base && slab.spare_pages) {
        for (unsigned c = 0; c < SLAB_CLASSES; c++) {
            if (slab.classes[c].spare) {
                destroy_slab(slab.classes[c].spare);
                slab.classes[c].spare = 0;
            }
        }
        slab.spare_pages = 0;
        base = page_frames_alloc(&slab.frames, n, align);
    }
    if (base) {
        struct slab_page *d = desc_of(base);
        d->kind = (uint8_t)kind;
        d->npages = (uint32_t)n;
        d->base = (uintptr_t)base;
    }
    return base;
}

static struct slab_page *new_slab(unsigned c)
{
    const struct slab_class *cls = &slab.classes[c];
    void *base = take_pages(cls->pages, HA_PAGE_SIZE, KIND_SLAB);
    if (!base)
        return 0;
    struct slab_page *s = desc_of(base);
    s->free = 0;
    s->inuse = 0;
    s->carved = 0;
    s->class_idx = (uint8_t)c;
    for (unsigned i = 1; i < cls->pages; i++) {
        s[i].kind = KIND_SLAB_TAIL;
        s[i].npages = i;
    }
    slab.cached_bytes += (size_t)cls->objects * class_size[c];
    return s;
}

/* ---- objects ------------------------------------------------------------- */

#ifdef HA_CHECKED
/* Checked builds: a freed object is filled past its link word (free_fill.h),
 * and both the link and the fill are verified when the object is taken
 * again, so a write into a freed object is reported and a corrupted link is
 * never followed. */
static size_t fill_len(unsigned c) { return free_fill_len(class_size[c]) - sizeof(void *); }

/* The link stored in free object obj of slab s: NULL or another object. */
static void *checked_link(const struct slab_page *s, const void *obj)
{
    void *next = *(void *const *)obj;
    uintptr_t off = (uintptr_t)next - s->base;
    if (next && (off % class_size[s->class_idx] || off / class_size[s->class_idx] >= s->carved))
        ha_fault(obj, "slab: free list link corrupted (it holds %p): was the object written after it was freed?",
                 next);
    return next;
}
#endif

/* The next free object after obj, which leaves the free list. */
static inline void *take_link(const struct slab_page *s, void *obj)
{
#ifdef HA_CHECKED
    free_fill_verify(obj, (void **)obj + 1, fill_len(s->class_idx), "slab");
    return checked_link(s, obj);
#else
    return *(void **)obj;
#endif
}

static void *alloc_object(unsigned c)
{
    struct slab_class *cls = &slab.classes[c];
    struct slab_page *s = cls->partial;
    if (!s) {
        s = cls->spare;
        if (s) {
            cls->spare = 0;
            slab.spare_pages -= cls->pages;
            slab.cached_bytes += (size_t)cls->objects * class_size[c];
        } else if (!(s = new_slab(c))) {
            return 0;
        }
        list_push(&cls->partial, s);
    }
    void *obj = s->free;
    if (obj)
        s->free = take_link(s, obj);
    else
        obj = (void *)(s->base + (size_t)s->carved++ * class_size[c]);
    if (++s->inuse == cls->objects)
        list_remove(&cls->partial, s);
    slab.cached_bytes -= class_size[c];
    return obj;
}

static void free_object(struct slab_page *s, void *obj)
{
    unsigned c = s->class_idx;
    struct slab_class *cls = &slab.classes[c];
#ifdef HA_CHECKED
    free_fill((void **)obj + 1, fill_len(c));
    free_fill((uint8_t *)obj + class_size[c] - sizeof(size_t), sizeof(size_t)); /* the size record */
#endif
    *(void **)obj = s->free;
    s->free = obj;
    if (s->inuse-- == cls->objects)
        list_push(&cls->partial, s);
    slab.cached_bytes += class_size[c];
    if (s->inuse == 0) {
        list_remove(&cls->partial, s);
        slab.cached_bytes -= (size_t)cls->objects * class_size[c];
        if (cls->spare) {
            destroy_slab(s);
        } else {
            cls->spare = s;
            slab.spare_pages += cls->pages;
        }
    }
}

/* ---- blocks: objects or large page runs ----------------------------------- */

/* The descriptor ruling a live ha_alloc block: its slab's first page or its
 * large run's. The descriptor lookup is needed anyway, so a pointer outside
 * the heap or on a page holding no block faults in every build. */
static struct slab_page *block_desc(const void *ptr)
{
    struct slab_page *d = desc_of(ptr);
    if (!d)
        ha_fault(ptr, "slab: not a block of this heap");
    if (d->kind == KIND_SLAB_TAIL)
        d -= d->npages;
    if (d->kind == KIND_SLAB) {
#ifdef HA_CHECKED
        uintptr_t off = (uintptr_t)ptr - d->base;
        if (off % class_size[d->class_idx] || off / class_size[d->class_idx] >= d->carved)
            ha_fault(ptr, "slab: not the start of an object");
        for (const void *f = d->free; f; f = checked_link(d, f))
            if (f == ptr)
                ha_fault(ptr, "slab: double free (object is free)");
#endif
        return d;
    }
    if (d->kind != KIND_LARGE || d->base != (uintptr_t)ptr)
        ha_fault(ptr, d->kind == KIND_PAGES ? "slab: a page run freed as a block"
                                            : "slab: not a live block (double free?)");
    return d;
}

static inline size_t block_usable(const struct slab_page *d)
{
    return d->kind == KIND_SLAB ? class_size[d->class_idx] : (size_t)d->npages * HA_PAGE_SIZE;
}

/* Usable size of the block at ptr as reported and counted: the request in
 * checked builds. */
static inline size_t reported(const void *ptr, const struct slab_page *d)
{
    return record_size(ptr, block_usable(d), "slab");
}

static void *alloc_locked(size_t n, size_t align, size_t *usable)
{
    int c = class_for(n, align);
    if (c >= 0) {
        *usable = class_size[c];
        return alloc_object((unsigned)c);
    }
    if (n > SLAB_MAX_REQUEST)
        return 0;
    size_t pages = pages_for(n);
    *usable = pages * HA_PAGE_SIZE;
    return take_pages(pages, align > HA_PAGE_SIZE ? align : HA_PAGE_SIZE, KIND_LARGE);
}

static void free_locked(struct slab_page *d, void *ptr)
{
    if (d->kind == KIND_SLAB) {
        free_object(d, ptr);
    } else {
        d->kind = KIND_NONE;
        page_frames_free(&slab.frames, ptr, d->npages);
    }
}

/* Resize in place: an object stays when the new size maps to its class; a
 * large run gives back its tail or claims the free pages after it. */
static bool resize_locked(struct slab_page *d, size_t n, size_t align)
{
    int c = class_for(n, align);
    if (d->kind == KIND_SLAB)
        return c == d->class_idx;
    if (c >= 0)
        return false;
    size_t want = pages_for(n);
    if (want <= d->npages)
        page_frames_free(&slab.frames, (char *)d->base + want * HA_PAGE_SIZE, d->npages - want);
    else if (!page_frames_extend(&slab.frames, (void *)d->base, d->npages, want - d->npages))
        return false;
    d->npages = (uint32_t)want;
    return true;
}

/* ---- the backend's ops (locked_backend.h), run with the lock held -------- */

/* Size each class's slabs and set up the page frames of the cleared state. */
static void prepare(void)
{
    for (unsigned c = 0; c < SLAB_CLASSES; c++) {
        size_t bytes = class_size[c];
        size_t pages = 1;
        while (pages < SLAB_MAX_PAGES && (pages * HA_PAGE_SIZE / bytes < SLAB_MIN_OBJECTS ||
                                          (pages * HA_PAGE_SIZE % bytes) > (pages * HA_PAGE_SIZE >> SLAB_WASTE_SHIFT)))
            pages++;
        slab.classes[c].pages = (uint16_t)pages;
        slab.classes[c].objects = (uint16_t)(pages * HA_PAGE_SIZE / bytes);
    }
    page_frames_init(&slab.frames, sizeof(struct slab_page));
}

static int add_region(void *start, size_t size, unsigned flags) { return page_frames_add(&slab.frames, start, size, flags); }

static inline struct locked_block live_bytes(const void *ptr)
{
    struct slab_page *d = block_desc(ptr);
    return (struct locked_block){ .desc = d, .usable = block_usable(d) };
}

static void release_bytes(void *ptr, const struct locked_block *b) { free_locked(b->desc, ptr); }

static bool resize_bytes(void *ptr, struct locked_block *b, size_t n, size_t align)
{
    if (!resize_locked(b->desc, n, align))
        return false;
    b->usable = block_usable(b->desc);
    return true;
}

static void *alloc_pages(size_t num_pages, size_t align) { return take_pages(num_pages, align, KIND_PAGES); }

static void free_pages(void *addr, size_t num_pages)
{
    struct slab_page *d = desc_of(addr);
    if (!d || d->kind != KIND_PAGES || d->base != (uintptr_t)addr)
        ha_fault(addr, "slab: dealloc_pages of pages that are not an allocated run");
#ifdef HA_CHECKED
    if (d->npages != num_pages)
        ha_fault(addr, "slab: dealloc_pages with a page count the run was not allocated with");
#endif
    d->kind = KIND_NONE;
    page_frames_free(&slab.frames, addr, d->npages);
}

static void usage(struct ha_usage *out)
{
    out->available_pages = slab.frames.free_pages + slab.spare_pages;
    /* A spare counts as the pages it goes back to, not as its objects. */
    out->available_bytes = out->available_pages * HA_PAGE_SIZE + slab.cached_bytes;
}

/* ---- check --------------------------------------------------------------- */

struct slab_census {
    size_t used_bytes, page_pages, cached_bytes, spare_pages;
    size_t partial[SLAB_CLASSES]; /* slabs that must be on the partial list */
};

/* One slab: its pages, its free list and where it must be listed. */
static int check_slab(struct slab_census *census, const struct slab_page *s)
{
    unsigned c = s->class_idx;
    if (c >= SLAB_CLASSES)
        return ha_check_fail("slab: slab at %p has class %u", (void *)s->base, c);
    const struct slab_class *cls = &slab.classes[c];
    size_t size = class_size[c], free_count = 0;
    if (s->npages != cls->pages || s->carved > cls->objects || s->inuse > s->carved)
        return ha_check_fail("slab: slab at %p: %u pages, %u carved, %u in use", (void *)s->base, s->npages,
                             s->carved, s->inuse);
    for (unsigned i = 1; i < s->npages; i++)
        if (s[i].kind != KIND_SLAB_TAIL || s[i].npages != i)
            return ha_check_fail("slab: page %u of the slab at %p not marked as its tail", i, (void *)s->base);
    for (const void *f = s->free; f; f = *(void *const *)f) {
        uintptr_t off = (uintptr_t)f - s->base;
        if (++free_count > (size_t)(s->carved - s->inuse) || off % size || off / size >= s->carved)
            return ha_check_fail("slab: bad free list of the slab at %p (at %p)", (void *)s->base, f);
    }
    if (free_count != (size_t)(s->carved - s->inuse))
        return ha_check_fail("slab: slab at %p has %zu free objects, expected %u", (void *)s->base, free_count,
                             s->carved - s->inuse);
    if (s->inuse == 0) {
        if (cls->spare != s)
            return ha_check_fail("slab: empty slab at %p is not its class's spare", (void *)s->base);
        census->spare_pages += s->npages;
        return 0;
    }
    if (s->inuse < cls->objects)
        census->partial[c]++;
#ifdef HA_CHECKED
    /* Live objects are those holding a size record (a free one's is filled). */
    size_t live = 0;
    for (size_t i = 0, n; i < s->carved; i++) {
        if (record_peek((const void *)(s->base + i * size), size, &n)) {
            live++;
            census->used_bytes += n;
        }
    }
    if (live != s->inuse)
        return ha_check_fail("slab: slab at %p has %zu objects with a size record, %u in use", (void *)s->base, live,
                             s->inuse);
#else
    census->used_bytes += (size_t)s->inuse * size;
#endif
    census->cached_bytes += (size_t)(cls->objects - s->inuse) * size;
    return 0;
}

/* A run of used page frames must be tiled by slabs, large blocks and page
 * runs, each headed by its first page's descriptor. */
static int check_run(void *ctx, uintptr_t start, size_t n)
{
    struct slab_census *census = ctx;
    for (uintptr_t a = start, end = start + n * HA_PAGE_SIZE; a < end;) {
        const struct slab_page *d = desc_of((void *)a);
        if ((d->kind != KIND_SLAB && d->kind != KIND_LARGE && d->kind != KIND_PAGES) || d->base != a ||
            d->npages == 0 || d->npages > (end - a) / HA_PAGE_SIZE)
            return ha_check_fail("slab: used page %p heads no slab, block or page run (kind %u)", (void *)a,
                                 d->kind);
        if (d->kind == KIND_SLAB) {
            int r = check_slab(census, d);
            if (r)
                return r;
        } else {
            for (unsigned i = 1; i < d->npages; i++)
                if (d[i].kind != KIND_NONE)
                    return ha_check_fail("slab: page %u of the run at %p has kind %u", i, (void *)a, d[i].kind);
            if (d->kind == KIND_LARGE)
                census->used_bytes += reported((const void *)a, d);
            else
                census->page_pages += d->npages;
        }
        a += (uintptr_t)d->npages * HA_PAGE_SIZE;
    }
    return 0;
}

static int check_locked(const struct locked_stats *stats)
{
    struct slab_census census;
    __builtin_memset(&census, 0, sizeof census);
    int r = page_frames_check(&slab.frames);
    if (!r)
        r = page_frames_for_each_used_run(&slab.frames, check_run, &census);
    if (r)
        return r;
    for (unsigned c = 0; c < SLAB_CLASSES; c++) {
        const struct slab_class *cls = &slab.classes[c];
        size_t listed = 0;
        const struct slab_page *prev = 0;
        for (const struct slab_page *s = cls->partial; s; prev = s, s = s->next) {
            if (++listed > census.partial[c] || s->kind != KIND_SLAB || s->class_idx != c || s->prev != prev ||
                !page_frames_all_used(&slab.frames, (void *)s->base, s->npages))
                return ha_check_fail("slab: class %u partial list holds a bad slab %p", class_size[c], (void *)s);
        }
        if (listed != census.partial[c])
            return ha_check_fail("slab: class %u: %zu partial slabs, %zu listed", class_size[c], census.partial[c],
                                 listed);
        if (cls->spare && (cls->spare->kind != KIND_SLAB || cls->spare->inuse != 0))
            return ha_check_fail("slab: class %u spare is not an empty slab", class_size[c]);
    }
    if (census.used_bytes != stats->used_bytes || census.page_pages != stats->used_pages ||
        census.cached_bytes != slab.cached_bytes || census.spare_pages != slab.spare_pages)
        return ha_check_fail("slab: pages hold %zu used / %zu cached bytes, %zu pages, %zu spare; counters %zu / "
                             "%zu / %zu / %zu",
                             census.used_bytes, census.cached_bytes, census.page_pages, census.spare_pages,
                             stats->used_bytes, slab.cached_bytes, stats->used_pages, slab.spare_pages);
    return 0;
}

/* The bytes slabs and page runs take: every page not free and not a spare
 * (a slab's free objects serve only its class, so they count as held, as
 * mi's pages do); ha_stats.bytes_held. */
static size_t held_bytes(void)
{
    size_t pages = 0;
    for (unsigned i = 0; i < slab.frames.regions.count; i++)
        pages += slab.frames.area[i].npages;
    return (pages - slab.frames.free_pages - slab.spare_pages) * HA_PAGE_SIZE;
}

LOCKED_BACKEND(slab, "slab", false, alloc_locked, release_bytes,
               .name = "slab", .max_request = SLAB_MAX_REQUEST, .state = &slab, .state_size = sizeof slab,
               .prepare = prepare, .add_region = add_region, .live_block = live_bytes, .resize = resize_bytes,
               .alloc_pages = alloc_pages, .free_pages = free_pages, .usage = usage, .held = held_bytes, .check = check_locked)
