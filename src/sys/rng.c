#include <engd/rng.h>

/* SplitMix64's finaliser: a bijective mix with full avalanche (Steele, Lea, Flood 2014). */
static inline uint64_t Mix64(uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double RngUniform(uint64_t seed, uint64_t stream, uint64_t counter)
{
  uint64_t key = Mix64(seed + 0x9e3779b97f4a7c15ULL);
  key          = Mix64(key ^ (stream * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL));
  key          = Mix64(key ^ (counter * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL));
  return (double)(key >> 11) * 0x1.0p-53;
}
