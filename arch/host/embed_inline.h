/*
 * embed_inline.h - the host's per-operation hooks inline in the core
 * (-DHA_EMBED_INLINE='"embed_inline.h"', see hartalloc_embed.h).
 */
#ifndef HOST_EMBED_INLINE_H
#define HOST_EMBED_INLINE_H

#include "host_thread.h"

static inline unsigned ha_embed_cpu_index(void) { return host_cpu_index(); }
static inline unsigned long ha_embed_irq_save(void) { return host_irq_save(); }
static inline void ha_embed_irq_restore(unsigned long flags) { host_irq_restore(flags); }

#endif /* HOST_EMBED_INLINE_H */
