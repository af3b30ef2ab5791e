/* SPDX-License-Identifier: MIT */
/*
 * pdb_load.h - the one call the symbol layer makes per module: an image (in the target's
 * memory or in a file) -> its RSDS record -> its PDB along the symbol path (downloaded
 * when the path names a server) -> the PDB opened and checked against the GUID and age.
 */
#ifndef VMKD_HOST_PDB_LOAD_H
#define VMKD_HOST_PDB_LOAD_H

#include <stddef.h>

#include "codeview.h"
#include "pdb.h"
#include "sympath.h"

/*
 * Returns the opened PDB (pdb_close it) and fills cv (what the image asked for) and path
 * (where the PDB was found); NULL with a reason in err. *not_found (when not NULL) tells a
 * PDB that is nowhere on the path (1) from an error (0).
 */
struct pdb *pdb_load_for_image(const struct pdb_mem_reader *rd, uint64_t image_base,
			       enum pdb_image_layout layout, const struct sympath *sp,
			       const struct sympath_find_opts *opts,
			       struct pdb_codeview_info *cv, char *path, size_t pathlen,
			       int *not_found, char *err, size_t errlen);

#endif
