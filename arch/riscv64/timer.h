/*
 * timer.h - time and the periodic tick.
 *
 * The tick is switched on and off globally (a suite asks for it from CPU 0),
 * but each hart can only program its own timer: the switch takes effect on
 * the calling hart at once and on every other hart when it next calls
 * timer_follow() (the kernel does at every barrier).
 */
#ifndef RV_TIMER_H
#define RV_TIMER_H

#include <stdbool.h>
#include <stdint.h>

/* Boot hart, before any other call. on_tick runs on every tick, in the timer
 * interrupt of the hart that took it, with its CPU index, interrupts masked. */
void timer_init(uint64_t timebase_hz, void (*on_tick)(unsigned cpu));
uint64_t time_ns(void);                 /* rdtime in ns since reset */
uint64_t time_ms(void);

void timer_switch(bool on);   /* set the global switch and follow it here */
void timer_follow(void);      /* arm or park this hart's timer to match the switch */
void timer_interrupt(void);   /* from the trap handler, interrupts masked */

#endif /* RV_TIMER_H */
