/* placeholder: being written */
typedef int rc_placeholder_probe;
int main(void) { return 0; }
