"""ArtifyGAN training: data, discriminator, content backbone, losses, loop, checkpoints."""
