/* Replacing a file so that readers (and a crash at any moment) see either
 * the old contents or the new, never a half-written file: write a
 * temporary file in the same directory, fsync it, rename it over the
 * target, fsync the directory. */
#ifndef EDGE_ATOMIC_FILE_H
#define EDGE_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Replaces path with len bytes of data, created with mode (before the
 * umask).  Returns 0, or -1 with errno set and *cause (when cause is not
 * NULL; caller frees) naming the step that failed.  The temporary file is
 * removed on failure.  A path that exists but is not a regular file (a
 * device, socket, directory or link) is refused with EEXIST. */
int atomic_write_file(const char *path, const void *data, size_t len,
    mode_t mode, char **cause);

#endif
