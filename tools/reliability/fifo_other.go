//go:build !unix

package main

func fifo(string) (string, error) { return "", errNoFIFO }
