// Implementation in progress (see the matching header).
int main() { return 0; }
