using System.Runtime.CompilerServices;

namespace Switchboard.Routing;

/// <summary>
/// A read-only map from a type to a value, keyed by the type's runtime handle: an open-addressing table probed with a
/// multiplicative hash of the handle. Built once; a lookup from a message is <see cref="Type.GetTypeHandle(object)"/> (a
/// JIT intrinsic that reads the object's method table), a multiply, a shift and usually one comparison.
/// </summary>
internal sealed class TypeMap<TValue>
    where TValue : class
{
    private readonly nint[] _keys;
    private readonly TValue?[] _values;
    private readonly int _shift;

    public TypeMap(IReadOnlyCollection<KeyValuePair<Type, TValue>> entries)
    {
        int bits = 3;
        while ((1 << bits) < entries.Count * 2)
        {
            bits++;
        }

        _keys = new nint[1 << bits];
        _values = new TValue?[1 << bits];
        _shift = 64 - bits;
        foreach ((Type key, TValue value) in entries)
        {
            nint handle = key.TypeHandle.Value;
            int index = Slot(handle);
            while (_keys[index] != 0)
            {
                index = (index + 1) & (_keys.Length - 1);
            }

            _keys[index] = handle;
            _values[index] = value;
        }

        Values = [.. entries.Select(e => e.Value)];
    }

    public IReadOnlyList<TValue> Values { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TValue? Find(nint typeHandle)
    {
        nint[] keys = _keys;
        int index = Slot(typeHandle);
        while (true)
        {
            nint candidate = keys[index];
            if (candidate == typeHandle)
            {
                return _values[index];
            }

            if (candidate == 0)
            {
                return null;
            }

            index = (index + 1) & (keys.Length - 1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(nint handle) => (int)(((ulong)handle * 0x9E3779B97F4A7C15UL) >> _shift);
}
