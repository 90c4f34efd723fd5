namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// A binary tree over the ranks, rooted at <c>root</c>: ranks are renumbered v = (rank - root) mod N and laid out
/// as a heap (parent (v-1)/2, children 2v+1 and 2v+2), so its depth is floor(log2 N).
/// </summary>
internal readonly struct BinaryTree
{
    public readonly int Parent;       // -1 at the root
    public readonly int FirstChild;   // -1 when absent
    public readonly int SecondChild;  // -1 when absent

    public BinaryTree(int rank, int size, int root)
    {
        int v = (rank - root + size) % size;
        Parent = v == 0 ? -1 : ((v - 1) / 2 + root) % size;
        FirstChild = 2 * v + 1 < size ? (2 * v + 1 + root) % size : -1;
        SecondChild = 2 * v + 2 < size ? (2 * v + 2 + root) % size : -1;
    }

    public int ChildCount => (FirstChild >= 0 ? 1 : 0) + (SecondChild >= 0 ? 1 : 0);

    public int Child(int index) => index == 0 ? FirstChild : SecondChild;
}
