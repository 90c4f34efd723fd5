namespace AllReduceNet.Benchmarks.HogwildSparse;

/// <summary>How the threads of <see cref="SparseSgdTrainer"/> share the one weight vector.</summary>
internal enum UpdateMode
{
    /// <summary>One thread, a plain loop: the reference.</summary>
    Sequential,

    /// <summary>No lock at all (Niu et al. 2011): updates can be lost when two threads write one entry at once.</summary>
    Hogwild,

    /// <summary>One lock around each whole step (read, gradient, write): serial SGD, however many threads.</summary>
    OneLock,

    /// <summary>
    /// A lock per stripe of feature slots, held while one slot's class weights are written: no update is lost, but a
    /// step still reads weights that other threads are changing, as in Hogwild.
    /// </summary>
    StripedLocks,
}
