/* Lethe — locks that ThreadSanitizer can see.  Not installed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GLib's GMutex, GCond and GThreadPool synchronise through futexes and
 * atomics inside libglib, which is not instrumented: ThreadSanitizer sees
 * no happens-before edge through them and reports every access they
 * protect as a race.  The core takes its locks through these wrappers,
 * which tell TSan about the edge (__tsan_acquire/__tsan_release on the
 * lock's address) in a -Db_sanitize=thread build and are the plain GLib
 * calls otherwise.  Hand-offs through GThreadPool are annotated where the
 * scheduler pushes a node and where a worker picks it up.
 */
#ifndef LETHE_SYNC_PRIVATE_H
#define LETHE_SYNC_PRIVATE_H

#include <glib.h>

#if defined(__SANITIZE_THREAD__)
#define LETHE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LETHE_TSAN 1
#endif
#endif

#ifdef LETHE_TSAN
#include <sanitizer/tsan_interface.h>
#define lethe_tsan_acquire(addr) __tsan_acquire((void *)(addr))
#define lethe_tsan_release(addr) __tsan_release((void *)(addr))
#else
#define lethe_tsan_acquire(addr) ((void)0)
#define lethe_tsan_release(addr) ((void)0)
#endif

static inline void
lethe_mutex_lock(GMutex *mutex)
{
  g_mutex_lock(mutex);
  lethe_tsan_acquire(mutex);
}

static inline void
lethe_mutex_unlock(GMutex *mutex)
{
  lethe_tsan_release(mutex);
  g_mutex_unlock(mutex);
}

/* g_cond_wait() releases @mutex while it sleeps and takes it back. */
static inline void
lethe_cond_wait(GCond *cond, GMutex *mutex)
{
  lethe_tsan_release(mutex);
  g_cond_wait(cond, mutex);
  lethe_tsan_acquire(mutex);
}

#endif /* LETHE_SYNC_PRIVATE_H */
