/* fuzz_common.h - shared by the fuzz targets: the libFuzzer entry point,
 * a check that aborts (so libFuzzer and the replay tests both report it),
 * and the frame format of the connection-level targets. */
#ifndef KT_FUZZ_COMMON_H
#define KT_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the code under test broke: print where and abort, which
 * libFuzzer records as a crash and ctest as a failed replay. */
#define FUZZ_CHECK(cond)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* Connection-level inputs are a sequence of frames, each a 2-byte
 * big-endian length and that many bytes (a short last frame takes what is
 * left). Returns the next frame, or 0 when the input is used up. */
typedef struct fuzz_frames {
	const uint8_t *p;
	size_t left;
} fuzz_frames;

static inline int fuzz_next_frame(fuzz_frames *f, const uint8_t **frame, size_t *len)
{
	size_t n;
	if (f->left < 2)
		return 0;
	n = (size_t)f->p[0] << 8 | f->p[1];
	f->p += 2;
	f->left -= 2;
	if (n > f->left)
		n = f->left;
	*frame = f->p;
	*len = n;
	f->p += n;
	f->left -= n;
	return 1;
}

/* A private copy of a frame in a buffer of exactly its size, so that
 * AddressSanitizer sees any read past its end. Caller frees. */
static inline unsigned char *fuzz_copy(const uint8_t *p, size_t n)
{
	unsigned char *c = malloc(n ? n : 1);
	if (!c)
		abort();
	for (size_t i = 0; i < n; i++)
		c[i] = p[i];
	return c;
}

/* Where a target keeps its per-process files: KT_FUZZ_TMPDIR, else
 * /dev/shm (the client's WAL checkpoints and the server's synchronous=FULL
 * commits would otherwise wait on the disk, up to tens of seconds on a
 * busy machine), else TMPDIR, else /tmp. */
static inline const char *fuzz_tmpdir(void)
{
	const char *d = getenv("KT_FUZZ_TMPDIR");
	struct stat st;
	if (d && *d)
		return d;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
		return "/dev/shm";
	d = getenv("TMPDIR");
	return d && *d ? d : "/tmp";
}

#endif
