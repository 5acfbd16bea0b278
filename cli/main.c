/* placeholder: being written */
typedef int rc_placeholder_main;
int main(void) { return 0; }
