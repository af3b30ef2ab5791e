/* SPDX-License-Identifier: MIT */
/* pdb_load.c - image -> RSDS -> symbol path -> opened, matching PDB. */
#include "pdb_load.h"

#include <stdio.h>

struct pdb *pdb_load_for_image(const struct pdb_mem_reader *rd, uint64_t image_base,
			       enum pdb_image_layout layout, const struct sympath *sp,
			       const struct sympath_find_opts *opts,
			       struct pdb_codeview_info *cv, char *path, size_t pathlen,
			       int *not_found, char *err, size_t errlen)
{
	enum sympath_result r;
	struct pdb *pdb;

	if (not_found)
		*not_found = 0;
	if (pdb_codeview_from_image(rd, image_base, layout, cv, err, errlen))
		return NULL;
	r = sympath_find(sp, cv->name, cv->guid, cv->age, opts, path, pathlen, err, errlen);
	if (r != SYMPATH_FOUND) {
		if (not_found)
			*not_found = r == SYMPATH_NOT_FOUND;
		return NULL;
	}
	/* sympath_find checked the match; a file replaced since then is caught here. */
	pdb = pdb_open_file(path, err, errlen);
	if (pdb && !pdb_matches(pdb, cv->guid, cv->age)) {
		snprintf(err, errlen, "%s changed: no longer the PDB of this image", path);
		pdb_close(pdb);
		return NULL;
	}
	return pdb;
}
