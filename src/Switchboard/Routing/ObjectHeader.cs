using System.Runtime.CompilerServices;

namespace Switchboard.Routing;

/// <summary>Reads an object's type handle from its header, the way the runtime's own helpers do.</summary>
internal static class ObjectHeader
{
    /// <summary>
    /// Returns the handle of <paramref name="instance"/>'s runtime type: the method-table pointer stored just before its
    /// first field, read through a managed reference the garbage collector tracks. Equal to
    /// <c>instance.GetType().TypeHandle.Value</c> without the call that <see cref="object.GetType"/> costs in shared
    /// generic code.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint TypeHandle(object instance)
        => Unsafe.Add(ref Unsafe.As<byte, nint>(ref Unsafe.As<RawData>(instance).Data), -1);

    private sealed class RawData
    {
        public byte Data;
    }
}
