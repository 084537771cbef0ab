using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Switchboard.SourceGenerator;

/// <summary>Reads one class declaration into the generator's model; everything the output needs is computed here.</summary>
internal static class TypeAnalysis
{
    private static readonly SymbolDisplayFormat FullName = SymbolDisplayFormat.FullyQualifiedFormat
        .WithMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.UseSpecialTypes | SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers);

    public static TypeModel? Analyze(GeneratorSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.SemanticModel.GetDeclaredSymbol(context.Node, cancellationToken) is not INamedTypeSymbol type || type.TypeKind != TypeKind.Class)
        {
            return null;
        }

        // A partial class is analysed once, at its first declaration.
        if (type.DeclaringSyntaxReferences.Length > 1 && type.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) != context.Node)
        {
            return null;
        }

        HandlerModel? handler = AnalyzeHandler(type, context.SemanticModel.Compilation, cancellationToken);
        JsonContextModel? json = AnalyzeJsonContext(type, context.SemanticModel.Compilation);
        return handler is null && json is null ? null : new TypeModel(handler, json);
    }

    private static HandlerModel? AnalyzeHandler(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
    {
        ImmutableArray<HandledModel>.Builder handled = ImmutableArray.CreateBuilder<HandledModel>();
        foreach (INamedTypeSymbol iface in type.AllInterfaces)
        {
            if (!IsSwitchboard(iface) || iface.Name != "IHandler" || iface.TypeArguments.Length is not (1 or 2))
            {
                continue;
            }

            bool usesContext = UsesContext(type, iface, compilation, cancellationToken);
            MessageTypeModel message = Describe(iface.TypeArguments[0]);
            MessageTypeModel? result = iface.TypeArguments.Length == 2 ? Describe(iface.TypeArguments[1]) : null;
            handled.Add(new HandledModel(message, result, usesContext));
        }

        if (handled.Count == 0)
        {
            return null;
        }

        string? skip = null;
        bool report = false;
        if (type.IsAbstract)
        {
            skip = "it is abstract";
        }
        else if (type.IsGenericType)
        {
            skip = "it is generic; register each closed type with AddHandler<T>()";
            report = true;
        }
        else if (!IsReachable(type))
        {
            skip = "it is private or protected; make it internal or public";
            report = true;
        }

        IMethodSymbol[] constructors = [.. type.InstanceConstructors.Where(c => c.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal)];
        string? unconstructible = null;
        if (skip is null && constructors.Length == 0)
        {
            unconstructible = "it has no public or internal constructor";
        }

        IMethodSymbol? longest = constructors.OrderByDescending(c => c.Parameters.Length).FirstOrDefault();
        return new HandlerModel(
            type.ToDisplayString(FullName),
            type.Name,
            LocationInfo.From(type.Locations.FirstOrDefault()),
            skip,
            report,
            unconstructible,
            constructors.Any(c => c.Parameters.Length == 0),
            new EquatableArray<string>(longest is null ? ImmutableArray<string>.Empty : [.. longest.Parameters.Select(p => p.Type.ToDisplayString(FullName))]),
            new EquatableArray<HandledModel>(handled.ToImmutable()));
    }

    /// <summary>
    /// Whether the method implementing <c>HandleAsync</c> mentions its <c>MessageContext</c> parameter. Syntactic and
    /// conservative: any use of the name counts, and an implementation the generator cannot read (in another assembly,
    /// abstract, partial without a body) counts as a use.
    /// </summary>
    private static bool UsesContext(INamedTypeSymbol type, INamedTypeSymbol iface, Compilation compilation, CancellationToken cancellationToken)
    {
        ISymbol? member = iface.GetMembers("HandleAsync").FirstOrDefault();
        if (member is null || type.FindImplementationForInterfaceMember(member) is not IMethodSymbol method || method.Parameters.Length < 2)
        {
            return true;
        }

        string name = method.Parameters[1].Name;
        foreach (SyntaxReference reference in method.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is not MethodDeclarationSyntax declaration)
            {
                return true;
            }

            SyntaxNode? body = (SyntaxNode?)declaration.Body ?? declaration.ExpressionBody;
            if (body is null)
            {
                return true;
            }

            if (body.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(id => id.Identifier.ValueText == name))
            {
                return true;
            }
        }

        return method.DeclaringSyntaxReferences.Length == 0;
    }

    private static MessageTypeModel Describe(ITypeSymbol type)
    {
        string? result = null;
        foreach (INamedTypeSymbol iface in type.AllInterfaces)
        {
            if (IsSwitchboard(iface) && iface.Name == "IRequest" && iface.TypeArguments.Length == 1)
            {
                result = iface.TypeArguments[0].ToDisplayString(FullName);
            }
        }

        bool concrete = type.TypeKind is TypeKind.Class or TypeKind.Struct or TypeKind.Enum or TypeKind.Array && !type.IsAbstract;
        bool framework = type.SpecialType != SpecialType.None || IsFramework(type);
        return new MessageTypeModel(
            type.ToDisplayString(FullName),
            type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
            result,
            concrete && !framework ? SerializationProblem(type) : null,
            concrete,
            concrete && !framework);
    }

    /// <summary>Why System.Text.Json cannot read a type, or <see langword="null"/> (checks the common causes, not every one).</summary>
    private static string? SerializationProblem(ITypeSymbol type)
    {
        if (type is not INamedTypeSymbol named || named.TypeKind != TypeKind.Class)
        {
            return null;
        }

        if (named.IsGenericType && named.TypeArguments.Any(a => a.TypeKind == TypeKind.TypeParameter))
        {
            return null;
        }

        IMethodSymbol[] publicConstructors = [.. named.InstanceConstructors.Where(c => c.DeclaredAccessibility == Accessibility.Public)];
        bool marked = named.InstanceConstructors.Any(c => c.GetAttributes().Any(a => a.AttributeClass?.Name == "JsonConstructorAttribute"));
        if (!marked)
        {
            if (publicConstructors.Length == 0)
            {
                return "it has no public constructor (add one, or mark one with [JsonConstructor])";
            }

            if (publicConstructors.Length > 1 && !publicConstructors.Any(c => c.Parameters.Length == 0))
            {
                return $"it has {publicConstructors.Length} public constructors with parameters and none is marked [JsonConstructor]";
            }
        }

        foreach (IPropertySymbol property in named.GetMembers().OfType<IPropertySymbol>())
        {
            if (property.DeclaredAccessibility == Accessibility.Public && !property.IsStatic && !property.IsIndexer &&
                property.Type.TypeKind is TypeKind.Delegate or TypeKind.Pointer or TypeKind.FunctionPointer &&
                !property.GetAttributes().Any(a => a.AttributeClass?.Name == "JsonIgnoreAttribute"))
            {
                return $"its property {property.Name} is a {(property.Type.TypeKind == TypeKind.Delegate ? "delegate" : "pointer")} (mark it [JsonIgnore])";
            }
        }

        return null;
    }

    private static JsonContextModel? AnalyzeJsonContext(INamedTypeSymbol type, Compilation compilation)
    {
        INamedTypeSymbol? contextBase = compilation.GetTypeByMetadataName("System.Text.Json.Serialization.JsonSerializerContext");
        if (contextBase is null || type.IsAbstract || type.IsGenericType)
        {
            return null;
        }

        bool derives = false;
        for (INamedTypeSymbol? current = type.BaseType; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current, contextBase))
            {
                derives = true;
                break;
            }
        }

        if (!derives)
        {
            return null;
        }

        ImmutableArray<string>.Builder types = ImmutableArray.CreateBuilder<string>();
        foreach (AttributeData attribute in type.GetAttributes())
        {
            if (attribute.AttributeClass?.Name == "JsonSerializableAttribute" && attribute.ConstructorArguments.Length > 0 &&
                attribute.ConstructorArguments[0].Value is ITypeSymbol serializable)
            {
                types.Add(serializable.ToDisplayString(FullName));
            }
        }

        return new JsonContextModel(type.ToDisplayString(FullName), IsReachable(type), new EquatableArray<string>(types.ToImmutable()));
    }

    private static bool IsSwitchboard(INamedTypeSymbol type)
        => type.ContainingNamespace is { Name: "Switchboard", ContainingNamespace.IsGlobalNamespace: true };

    private static bool IsFramework(ITypeSymbol type)
    {
        INamespaceSymbol? ns = type.ContainingNamespace;
        while (ns is { ContainingNamespace.IsGlobalNamespace: false })
        {
            ns = ns.ContainingNamespace;
        }

        return ns?.Name is "System" or "Microsoft";
    }

    /// <summary>Whether generated code in the same assembly can name the type (it and every containing type internal or public).</summary>
    private static bool IsReachable(INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            if (current.DeclaredAccessibility is not (Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal))
            {
                return false;
            }
        }

        return true;
    }
}
