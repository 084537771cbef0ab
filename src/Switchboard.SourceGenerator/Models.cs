using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Switchboard.SourceGenerator;

/// <summary>An immutable array compared by its items, so that the incremental pipeline can tell an unchanged model.</summary>
internal readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IEnumerable<T>
    where T : IEquatable<T>
{
    private readonly ImmutableArray<T> _items;

    public EquatableArray(ImmutableArray<T> items) => _items = items;

    public ImmutableArray<T> Items => _items.IsDefault ? ImmutableArray<T>.Empty : _items;

    public int Length => Items.Length;

    public bool Equals(EquatableArray<T> other) => Items.SequenceEqual(other.Items);

    public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        int hash = 17;
        foreach (T item in Items)
        {
            hash = (hash * 31) + (item?.GetHashCode() ?? 0);
        }

        return hash;
    }

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A source location without a reference to the syntax tree (a <see cref="Location"/> would keep the compilation alive).</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(Location? location)
        => location is null || location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}

/// <summary>A message or result type, with what the generator checked about it.</summary>
/// <param name="FullName">The fully qualified name (<c>global::...</c>).</param>
/// <param name="DisplayName">The short name for diagnostics.</param>
/// <param name="RequestResult">The <c>TResult</c> of <c>IRequest&lt;TResult&gt;</c> it implements, or <see langword="null"/>.</param>
/// <param name="SerializationProblem">Why System.Text.Json cannot read it, or <see langword="null"/>.</param>
/// <param name="IsConcrete">Whether it can be serialized as itself (not an interface, abstract class or type parameter).</param>
/// <param name="NeedsJsonMetadata">Whether it is an application type (not a primitive or a framework type) that a JSON context should cover.</param>
internal sealed record MessageTypeModel(
    string FullName,
    string DisplayName,
    string? RequestResult,
    string? SerializationProblem,
    bool IsConcrete,
    bool NeedsJsonMetadata);

/// <summary>One <c>IHandler&lt;TMessage&gt;</c> or <c>IHandler&lt;TMessage, TResult&gt;</c> a handler class implements.</summary>
internal sealed record HandledModel(MessageTypeModel Message, MessageTypeModel? Result, bool UsesContext);

/// <summary>A class that implements one or more handler interfaces.</summary>
/// <param name="FullName">The fully qualified name.</param>
/// <param name="DisplayName">The short name for diagnostics.</param>
/// <param name="Location">Where it is declared.</param>
/// <param name="Skip">Why it is not registered (abstract, generic, not reachable), or <see langword="null"/>.</param>
/// <param name="ReportSkip">Whether the skip deserves a warning (an abstract base handler does not).</param>
/// <param name="Unconstructible">Why it cannot be created, or <see langword="null"/>.</param>
/// <param name="HasParameterless">Whether it has an accessible parameterless constructor.</param>
/// <param name="ConstructorParameters">The parameter types of the constructor DI uses (the accessible one with the most parameters).</param>
/// <param name="Handled">The handler interfaces.</param>
internal sealed record HandlerModel(
    string FullName,
    string DisplayName,
    LocationInfo? Location,
    string? Skip,
    bool ReportSkip,
    string? Unconstructible,
    bool HasParameterless,
    EquatableArray<string> ConstructorParameters,
    EquatableArray<HandledModel> Handled);

/// <summary>A <c>JsonSerializerContext</c> of the application and the types it has metadata for.</summary>
internal sealed record JsonContextModel(string FullName, bool Reachable, EquatableArray<string> Types);

/// <summary>What one class declaration contributes: a handler, a JSON context, or (rarely) both.</summary>
internal sealed record TypeModel(HandlerModel? Handler, JsonContextModel? JsonContext);
