/*
 * harness_embed.h - what the kernel's side of the test harness's embedding
 * (harness_embed.c) offers the rest of the kernel.
 */
#ifndef K_HARNESS_EMBED_H
#define K_HARNESS_EMBED_H

/* The tick handler main() gives timer_init: runs the hook a suite set with
 * th_tick_hook, in the timer interrupt on CPU `cpu`, interrupts masked. */
void harness_timer_tick(unsigned cpu);

#endif /* K_HARNESS_EMBED_H */
