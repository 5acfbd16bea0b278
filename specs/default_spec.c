/* placeholder: being written */
typedef int rc_placeholder_default_spec;
