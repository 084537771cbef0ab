using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Switchboard.Observability;

/// <summary>
/// An exact counter for the hot path, embedded by value in the object that owns it. Uncontended, an increment is one
/// compare-and-swap on a cache line of its own (no thread-local lookup, which costs a call on Linux). The first time two
/// threads collide, it spreads over padded cells picked by thread, so cores that count at the same time stop sharing a
/// line; the value is the base plus every cell.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * CacheLine)]
internal struct StripedCounter
{
    private const int CacheLine = 64;

    // The base sits in the middle line: nothing of the owner shares it, whatever the owner's layout.
    [FieldOffset(CacheLine)]
    private long _base;

    [FieldOffset(CacheLine + 8)]
    private Cell[]? _cells;

    /// <summary>Gets the count: exact once the increments it should include have returned.</summary>
    public readonly long Value
    {
        get
        {
            long sum = Volatile.Read(in _base);
            Cell[]? cells = Volatile.Read(in _cells);
            if (cells is not null)
            {
                for (int i = 0; i < cells.Length; i++)
                {
                    sum += Volatile.Read(in cells[i].Value);
                }
            }

            return sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment()
    {
        if (_cells is null)
        {
            long seen = _base;
            if (Interlocked.CompareExchange(ref _base, seen + 1, seen) == seen)
            {
                return;
            }
        }

        IncrementContended();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void IncrementContended()
    {
        Cell[] cells = Volatile.Read(ref _cells) ?? CreateCells();
        Interlocked.Increment(ref cells[Environment.CurrentManagedThreadId & (cells.Length - 1)].Value);
    }

    private Cell[] CreateCells()
    {
        // Enough cells that threads numbered in sequence on every core land on different lines; a collision stays exact
        // (each cell is incremented atomically), it only costs contention on that cell.
        int count = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, Environment.ProcessorCount * 2));
        Cell[] created = new Cell[count];
        return Interlocked.CompareExchange(ref _cells, created, null) ?? created;
    }

    /// <summary>One cell, alone on its cache line (and away from the adjacent-line prefetcher's pair).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 2 * CacheLine)]
    private struct Cell
    {
        [FieldOffset(CacheLine)]
        public long Value;
    }
}
