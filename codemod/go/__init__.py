"""What unleak knows about Go code, asked by every transform: parse trees and syntax helpers,
scopes, goroutines, control flow, contexts and WaitGroups. Nothing here reports or rewrites."""
