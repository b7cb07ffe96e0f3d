// Implementation in progress (see the matching header).
