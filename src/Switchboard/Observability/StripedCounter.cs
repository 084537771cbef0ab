using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Switchboard.Observability;

/// <summary>
/// An exact counter for the hot path, embedded by value in the object that owns it. Every increment is one atomic add:
/// no thread-local lookup (a call on Linux) and no compare-and-swap loop (measured about 2 ns dearer per publish). So
/// that threads counting at once do not fight over one cache line, the thread that counted first keeps the base line and
/// every other thread counts in a padded cell picked by its stack, which tells threads apart at no cost (threads never
/// share a stack). Two threads landing on one cell stay exact (the add is atomic); they only share that line.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 4 * CacheLine)]
internal struct StripedCounter
{
    private const int CacheLine = 64;

    /// <summary>A thread's stack, in units of 1 MiB: .NET threads' stacks are at least that far apart, or share a cell.</summary>
    private const int StackRegionBits = 20;

    // Read by every counting thread, written once or twice: a line of its own, away from the owner's writes.
    [FieldOffset(CacheLine)]
    private nuint _owner;

    [FieldOffset(CacheLine + 8)]
    private Cell[]? _cells;

    // Written by the owner only (atomically, so that it stays exact should two threads ever share a stack region).
    [FieldOffset(2 * CacheLine)]
    private long _base;

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
        nuint region = StackRegion();
        if (region == _owner)
        {
            Interlocked.Increment(ref _base);
            return;
        }

        AddElsewhere(region, 1);
    }

    /// <summary>Takes one back (an increment whose work did not happen after all).</summary>
    public void Decrement() => AddElsewhere(StackRegion(), -1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe nuint StackRegion()
    {
        byte marker = 0;
        return (nuint)(&marker) >> StackRegionBits;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddElsewhere(nuint region, long delta)
    {
        nuint owner = Volatile.Read(ref _owner);
        if (owner == region || (owner == 0 && Interlocked.CompareExchange(ref _owner, region, 0) == 0))
        {
            Interlocked.Add(ref _base, delta);
            return;
        }

        Cell[] cells = Volatile.Read(ref _cells) ?? CreateCells();
        int index = (int)((ulong)region * 0x9E3779B97F4A7C15UL >> 32) & (cells.Length - 1);
        Interlocked.Add(ref cells[index].Value, delta);
    }

    private Cell[] CreateCells()
    {
        // Twice the cores, so that the threads busy at one time rarely share a cell; at most 64 (4 KiB per counter).
        int count = (int)Math.Min(64, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, Environment.ProcessorCount * 2)));
        Cell[] created = new Cell[count];
        return Interlocked.CompareExchange(ref _cells, created, null) ?? created;
    }

    /// <summary>One cell, alone on its cache line.</summary>
    [StructLayout(LayoutKind.Explicit, Size = CacheLine)]
    private struct Cell
    {
        [FieldOffset(0)]
        public long Value;
    }
}
