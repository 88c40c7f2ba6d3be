/* barrier.h - all CPUs of a run meet here (the harness's th_embed_barrier). */
#ifndef K_BARRIER_H
#define K_BARRIER_H

void barrier_init(unsigned ncpu); /* before any CPU waits */
void barrier_wait(void);

#endif /* K_BARRIER_H */
