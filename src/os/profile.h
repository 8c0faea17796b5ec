/* Fault profiles (os.fault_profile): presets of the fault-path costs taken
 * from published measurements, each with its source (docs/defaults.md).
 * A profile changes the defaults of some os.* keys; a key the
 * configuration gives explicitly overrides it. */
#ifndef SCIM_OS_PROFILE_H
#define SCIM_OS_PROFILE_H

#include "core/config.h"

typedef struct scim_profile_value {
    const char *key;   /* an os.* key */
    const char *value; /* its default under the profile */
} scim_profile_value;

typedef struct scim_fault_profile {
    const char *name;
    const char *doc;
    const char *source;
    const scim_profile_value *values; /* NULL-terminated */
} scim_fault_profile;

extern const char *const scim_os_fault_profile_names[];
extern const scim_fault_profile scim_fault_profiles[];
extern const size_t scim_fault_profile_count;

/* The OS's parameter table with the defaults of the profile the section
 * names (os.fault_profile, "sva" when absent) written into `out` (room for
 * scim_os_param_decl_count entries). A bad profile name is reported when
 * the section is bound. */
void scim_os_profile_decls(const scim_cfg_node *os_section, scim_param_decl *out);
/* The same for a VM's table (vms.<n>): guest.fault_profile presets the
 * guest.* keys (room for scim_vm_param_decl_count entries). */
void scim_vm_profile_decls(const scim_cfg_node *vm_section, scim_param_decl *out);
/* docs/defaults.md-style table of every profile. */
int scim_fault_profiles_markdown(FILE *out);

#endif
