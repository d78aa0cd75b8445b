/* What this build is and where its bundled files are: the version, and the
 * flow an installed binary finds under share/loket/ beside its bin/. */
#include "loket/core.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loket_version.h"

#ifndef LOKET_REL_DATADIR
#define LOKET_REL_DATADIR "../share/loket"
#endif

const char *lk_version(void)
{
    return LOKET_VERSION;
}

const char *lk_version_git(void)
{
    return LOKET_VERSION_GIT;
}

const char *lk_default_flow(void)
{
    static char path[PATH_MAX];
    char exe[PATH_MAX], rel[PATH_MAX];
    ssize_t n;
    char *slash;

    if (path[0])
        return path;
    /* The installed layout is relative to the binary, so a tree installed
     * under any prefix (or DESTDIR) finds its own flows. */
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if ((size_t)snprintf(rel, sizeof rel, "%s/" LOKET_REL_DATADIR "/flows/chika.json",
                                 exe) < sizeof rel &&
                realpath(rel, path) && access(path, R_OK) == 0)
                return path;
        }
    }
    snprintf(path, sizeof path, "%s", "flows/chika.json");
    return path;
}
