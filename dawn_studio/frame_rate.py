"""The video frame rate, the one number every layer shares: DAWN's training clips are 25 frames per
second, so its speech features, motion sequences, rendered frames and exported videos all are."""

FPS = 25
#: One video frame in milliseconds.
FRAME_MS = 1000 // FPS
