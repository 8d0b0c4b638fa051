"""Stage start-up and finish, the device, runs side by side, torchrun ranks."""
