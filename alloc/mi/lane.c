/*
 * lane.c - the lane's calls as functions, for embeddings that do not ask for
 * the inline bodies (HA_LANE_INLINE, see hartalloc_lane.h).
 */
#include "lane.h"

void *ha_lane_alloc(ha_lane *lane, size_t size)
{
    return mi_lane_alloc(&lane->heap, size);
}

bool ha_lane_free(ha_lane *lane, void *p)
{
    return mi_lane_free(&lane->heap, p);
}

bool ha_lane_free_remote(ha_lane *lane, void *p)
{
    return mi_lane_free_remote(&lane->heap, p);
}
